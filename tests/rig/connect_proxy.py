#!/usr/bin/env python3
"""A minimal HTTP CONNECT proxy on 127.0.0.1 for HTTPS_PROXY tests.

Tunnels `CONNECT host:port` to the target; anything else gets 405. Every tunnel is
appended to --log as a line "CONNECT host:port". --port-file receives the port.
"""
import argparse
import select
import socket
import socketserver
import threading


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(8192).decode("latin-1").strip()
        while True:  # skip the request headers
            h = self.rfile.readline(8192)
            if not h or h in (b"\r\n", b"\n"):
                break
        parts = line.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        with self.server.lock, open(self.server.log, "a") as f:
            f.write("CONNECT %s\n" % parts[1])
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        socks = [self.connection, upstream]
        try:
            while True:
                ready, _, _ = select.select(socks, [], [], 120)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.log = args.log
    server.lock = threading.Lock()
    open(args.log, "a").close()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
