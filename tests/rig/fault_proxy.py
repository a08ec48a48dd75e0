#!/usr/bin/env python3
"""Fault-injecting HTTP proxy in front of a registry (plain HTTP, 127.0.0.1).

Every request is forwarded to --upstream (Host header kept, Range passed through).
Requests whose path matches --match (default: blob GETs) may get a fault, the first
--times of them (0 = all):
  --fail-status CODE   answer CODE with a registry-style JSON error, no upstream call
  --truncate FRACTION  send the full Content-Length header but only FRACTION of the body,
                       then close the connection
  --corrupt            flip one byte in the middle of the body (digest mismatch)
  --stall-after BYTES  send BYTES of the body, then hold the connection open, sending
                       nothing, until the client goes away (kill -9 mid-pull tests)
  --rate BPS           throttle matching bodies to BPS bytes/second
Control and accounting (never forwarded):
  GET /__rig/stats  -> {"requests": {"GET /v2/...": n, ...}, "faults": n, "bytes": n}
  GET /__rig/reset  -> zeroes the counters and the --times budget
Each request is also appended as a JSON line to --log if given.
"""
import argparse
import http.client
import json
import os
import re
import select
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "content-length"}
STALL_LIMIT = 600


class State:
    def __init__(self, args):
        self.args = args
        self.match = re.compile(args.match)
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = {}
        self.faults = 0
        self.bytes = 0

    def take_fault(self, method, path):
        """Counts the request; returns True if this one gets the fault."""
        key = "%s %s" % (method, urllib.parse.urlsplit(path).path)
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1
            if method != "GET" or not self.match.search(path) or not self.args.any_fault:
                return False
            if self.args.times and self.faults >= self.args.times:
                return False
            self.faults += 1
            return True

    def log(self, record):
        if not self.args.log:
            return
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        sys.stderr.write("fault_proxy: " + (fmt % args) + "\n")

    def control(self):
        st = self.state
        if self.path.startswith("/__rig/reset"):
            with st.lock:
                st.reset()
        with st.lock:
            body = json.dumps({"requests": st.requests, "faults": st.faults,
                               "bytes": st.bytes}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self):
        if self.path.startswith("/__rig/"):
            return self.control()
        st, args = self.state, self.state.args
        fault = st.take_fault(self.command, self.path)
        record = {"method": self.command, "path": self.path, "fault": fault,
                  "range": self.headers.get("Range")}
        if fault and args.fail_status:
            body = json.dumps({"errors": [{"code": "UNKNOWN", "message": "injected fault"}]})
            self.send_response(args.fail_status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
            st.log(dict(record, status=args.fail_status))
            return
        length = int(self.headers.get("Content-Length", "0") or 0)
        req_body = self.rfile.read(length) if length else None
        host, port = args.upstream.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        # putheader per item: repeated headers (several Accept:) must all reach the registry
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP:
                conn.putheader(k, v)
        if req_body is not None:
            conn.putheader("Content-Length", str(len(req_body)))
        conn.endheaders(req_body)
        resp = conn.getresponse()
        data = resp.read() if self.command != "HEAD" else b""
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        conn.close()
        sent = self.send_body(data, fault and self.command == "GET")
        with st.lock:
            st.bytes += sent
        st.log(dict(record, status=resp.status, size=len(data), sent=sent))

    def send_body(self, data, fault):
        args = self.state.args
        if fault and args.corrupt and data:
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
        limit = len(data)
        if fault and args.truncate is not None:
            limit = int(len(data) * args.truncate)
        if fault and args.stall_after is not None:
            limit = min(limit, args.stall_after)
        rate = args.rate if (fault or args.rate_all) else 0
        sent = 0
        chunk = 16384 if not rate else max(1, min(16384, rate // 10))
        while sent < limit:
            n = min(chunk, limit - sent)
            self.wfile.write(data[sent:sent + n])
            sent += n
            if rate:
                self.wfile.flush()
                time.sleep(n / rate)
        self.wfile.flush()
        if sent < len(data):
            if fault and args.stall_after is not None:
                self.stall()
            self.close_connection = True
        return sent

    def stall(self):
        deadline = time.monotonic() + STALL_LIMIT
        sock = self.connection
        while time.monotonic() < deadline:
            r, _, _ = select.select([sock], [], [], 0.5)
            if r:
                try:
                    if sock.recv(1, 0x2) == b"":  # MSG_PEEK: EOF means the client left
                        return
                except OSError:
                    return

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    ap.add_argument("--port-file", required=True, help="writes the listening port here")
    ap.add_argument("--match", default=r"/blobs/sha256:")
    ap.add_argument("--times", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=0)
    ap.add_argument("--truncate", type=float, default=None)
    ap.add_argument("--corrupt", action="store_true")
    ap.add_argument("--stall-after", type=int, default=None)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--rate-all", action="store_true", help="throttle every body, no fault")
    ap.add_argument("--log", default=None)
    args = ap.parse_args()
    args.any_fault = bool(args.fail_status or args.truncate is not None or args.corrupt or
                          args.stall_after is not None or args.rate)
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
