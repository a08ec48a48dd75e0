#!/usr/bin/env python3
"""A hostile explicit-proxy client for tests/net/gateway.sh (run inside the pod netns).

gateway_client.py PROXY_HOST PROXY_PORT ATTACK [ARGS...]; prints one result word per attack:
  oversize            a 70 KiB request head               -> the status line's code, or "closed"
  malformed           bytes that are no HTTP request      -> code or "closed"
  origin              GET / (origin-form) to the proxy    -> code
  connect CONNECT_TARGET
                      CONNECT, prints the reply's code    -> code or "closed"
  sni CONNECT_HOST SNI [CAFILE]
                      CONNECT CONNECT_HOST:443, then a TLS handshake with SNI (verified
                      against CAFILE when given) -> "ok", or "alert" when the gateway
                      refused it (a TLS alert / the connection closed in the handshake)
  silent_connect HOST:PORT SECONDS
                      CONNECT, 200, then silence: how the tunnel ended -> "closed after N s"
                      or "open" (still open after SECONDS)
  slowloris N SECONDS [SOURCE]
                      N connections (from SOURCE), each sends a partial head and idles;
                      prints "accepted=A refused=R" (R: answered 503 or closed at once)
                      and holds them SECONDS
"""
import socket, ssl, sys, time


def connect(host, port, source=None):
    s = socket.create_connection((host, port), timeout=20, source_address=(source, 0) if source else None)
    return s


def status_of(s):
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    if not data.startswith(b"HTTP/1."):
        return "closed"
    return data.split(b" ")[1].decode()


def main():
    host, port, attack, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    if attack == "oversize":
        s = connect(host, port)
        try:
            s.sendall(b"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(status_of(s))
    elif attack == "malformed":
        s = connect(host, port)
        s.sendall(b"\x16\x03\x01\x00\x05hello\r\n\r\n")
        print(status_of(s))
    elif attack == "origin":
        s = connect(host, port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
        print(status_of(s))
    elif attack == "connect":
        s = connect(host, port)
        s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (args[0].encode(), args[0].encode()))
        print(status_of(s))
    elif attack == "sni":
        connect_host, sni = args[0], args[1]
        s = connect(host, port)
        s.sendall(b"CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n" % (connect_host.encode(), connect_host.encode()))
        code = status_of(s)
        if code != "200":
            print("connect-" + code)
            return
        ctx = ssl.create_default_context(cafile=args[2]) if len(args) > 2 else ssl._create_unverified_context()
        ctx.check_hostname = len(args) > 2
        try:
            t = ctx.wrap_socket(s, server_hostname=sni)
            t.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % sni.encode())
            print("ok " + status_of(t))
        except (ssl.SSLError, ConnectionResetError, OSError) as e:
            print("alert")
    elif attack == "silent_connect":
        target, seconds = args[0], float(args[1])
        s = connect(host, port)
        s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target.encode(), target.encode()))
        code = status_of(s)
        if code != "200":
            print("connect-" + code)
            return
        start = time.time()
        s.settimeout(seconds)
        try:
            data = s.recv(1)
            print("closed after %d s" % round(time.time() - start) if not data else "data")
        except socket.timeout:
            print("open")
        except ConnectionResetError:
            print("closed after %d s" % round(time.time() - start))
    elif attack == "slowloris":
        n, seconds = int(args[0]), float(args[1])
        source = args[2] if len(args) > 2 else None
        socks, refused = [], 0
        for _ in range(n):
            try:
                s = connect(host, port, source)
                s.sendall(b"GET http://allowed.test/ HTTP/1.1\r\nHost: allo")
                socks.append(s)
            except OSError:
                refused += 1
        time.sleep(0.5)
        accepted = 0
        for s in socks:
            s.setblocking(False)
            try:
                data = s.recv(4096)
                refused += 1  # a 503 or a close: not held
            except BlockingIOError:
                accepted += 1
            except OSError:
                refused += 1
        print("accepted=%d refused=%d" % (accepted, refused), flush=True)
        time.sleep(seconds)
    else:
        sys.exit("unknown attack " + attack)


main()
