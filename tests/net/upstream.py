#!/usr/bin/env python3
"""Upstream test servers on 127.0.0.1 for the net rig (tests/net/*.sh).

  upstream.py PORTFILE http DIR   GET /<file> serves DIR/<file>; PUT/POST answers "<sha256> <bytes>"
  upstream.py PORTFILE echo       echoes until EOF, then closes
  upstream.py PORTFILE reset      reads one chunk, then closes with RST (SO_LINGER 0)
  upstream.py PORTFILE slowsink   reads 64 KiB every 10 ms, then answers "<sha256> <bytes>"
Binds an ephemeral port and writes it to PORTFILE. Runs until killed.
"""
import hashlib
import http.server
import os
import socket
import socketserver
import struct
import sys
import threading
import time


class Http(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory = "."

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = os.path.join(self.directory, os.path.basename(self.path.split("?")[0]))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("X-Host", self.headers.get("Host", ""))
        self.end_headers()
        self.wfile.flush()
        with open(path, "rb") as f:
            self.connection.sendfile(f)

    def body_chunks(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, 1 << 20))
                    if not data:
                        return
                    left -= len(data)
                    yield data
                self.rfile.readline()
        left = int(self.headers.get("Content-Length", "0"))
        while left:
            data = self.rfile.read(min(left, 1 << 20))
            if not data:
                return
            left -= len(data)
            yield data

    def do_PUT(self):
        h, n = hashlib.sha256(), 0
        for chunk in self.body_chunks():
            h.update(chunk)
            n += len(chunk)
        body = f"{h.hexdigest()} {n}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT


class Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def raw_server(handler):
    class H(socketserver.BaseRequestHandler):
        def handle(self):
            handler(self.request)
    return H


def echo(conn):
    while True:
        data = conn.recv(1 << 16)
        if not data:
            break
        conn.sendall(data)
    conn.close()


def reset(conn):
    conn.recv(1 << 16)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def slowsink(conn):
    h, n = hashlib.sha256(), 0
    while True:
        data = conn.recv(65536)
        if not data:
            break
        h.update(data)
        n += len(data)
        time.sleep(0.01)
    conn.sendall(f"{h.hexdigest()} {n}\n".encode())
    conn.close()


def main():
    portfile, mode = sys.argv[1], sys.argv[2]
    if mode == "http":
        Http.directory = sys.argv[3]
        server = Threaded(("127.0.0.1", 0), Http)
    else:
        server = Threaded(("127.0.0.1", 0), raw_server({"echo": echo, "reset": reset, "slowsink": slowsink}[mode]))
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
