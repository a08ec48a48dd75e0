#!/usr/bin/env python3
"""Test upstream for the proxy tests: HTTP/1.1 with keep-alive, optional TLS.

upstream_server.py --port-file F --log F [--cert C --key K] [--host ADDR] [--port N]
Every request is appended to LOG as one JSON line (method, path, headers, body length,
decoded Basic credentials). Responses never echo request data, so a secret that reached
the upstream cannot flow back to the client through this server.
  /chunked   -> chunked response of three chunks
  /big?n=N   -> N bytes (Content-Length)
  /close     -> response without length, connection closed after it
  /upgrade   -> 101 Switching Protocols, then echoes lines prefixed "echo:"
  /status/N  -> status N with no body (204, 304) or an empty Content-Length body
  /canned/F  -> the bytes of file F in --canned DIR (a test writes a response body there,
                e.g. an OAuth token response); ?chunked=N sends it in N-byte chunks,
                ?gzip=1 gzip-encodes it whatever the request accepts
HEAD gets the GET head without a body.
  anything   -> "ok METHOD PATH-LENGTH" with Content-Length
"""
import argparse, base64, gzip, json, os, socket, ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

LOCK = threading.Lock()
BIG = b"x" * (1 << 20)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def record(self, body):
        basic = ""
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            basic = base64.b64decode(auth[6:]).decode("utf-8", "replace")
        entry = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                 "basic": basic, "query": parse_qs(urlsplit(self.path).query), "body": body.decode("utf-8", "replace")}
        with LOCK, open(self.server.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def handle_any(self):
        body = self.read_body()
        self.record(body)
        path = urlsplit(self.path).path
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"alpha-", b"beta-", b"gamma"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if path == "/big":
            n = int(parse_qs(urlsplit(self.path).query).get("n", ["1048576"])[0])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command != "HEAD":
                while n > 0:
                    chunk = BIG[: min(n, len(BIG))]
                    self.wfile.write(chunk)
                    n -= len(chunk)
            return
        if path == "/upgrade":
            # 101, then echo raw bytes line by line until EOF (a stand-in for WebSocket).
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "echo")
            self.end_headers()
            self.wfile.flush()
            while True:
                line = self.rfile.readline()
                if not line:
                    break
                self.wfile.write(b"echo:" + line)
                self.wfile.flush()
            self.close_connection = True
            return
        if path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"closed-body")
            self.close_connection = True
            return
        if path.startswith("/canned/"):
            q = parse_qs(urlsplit(self.path).query)
            name = os.path.basename(path)
            try:
                data = open(os.path.join(self.server.canned_dir or "/nonexistent", name), "rb").read()
            except OSError:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if q.get("gzip"):
                data = gzip.compress(data)
                self.send_header("Content-Encoding", "gzip")
            step = int(q.get("chunked", ["0"])[0])
            if step > 0:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(data), step):
                    part = data[i:i + step]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self.send_response(code)
            if code not in (204, 304):
                self.send_header("Content-Length", "0")
            self.end_headers()
            return
        reply = ("ok %s %d body=%d\n" % (self.command, len(self.path), len(body))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = do_PATCH = do_PROPFIND = handle_any


class Server(ThreadingHTTPServer):
    # tests/net/flood.sh and tests/security/memory_flood.sh open hundreds of connections at
    # once; the default backlog of 5 would leave some half-open on this side for seconds.
    request_queue_size = 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--canned")
    a = ap.parse_args()
    srv = Server((a.host, a.port), Handler)
    srv.daemon_threads = True
    srv.log_path = a.log
    srv.canned_dir = a.canned
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        ctx.set_alpn_protocols(["http/1.1"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
