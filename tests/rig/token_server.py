#!/usr/bin/env python3
"""A small Docker registry token server (distribution "token" auth) for the rig.

  GET  /token?service=S&scope=repository:R:pull[&scope=...]   (Basic auth optional)
  POST /token  (OAuth2 form: grant_type=password, username, password, service, scope)
  GET  /stats  -> {"issued": n, "anonymous": n, "authenticated": n, "denied": n}

Policy: valid credentials get every action they ask for; anonymous callers get
"pull" on every repository except those under matchlock/private/; wrong
credentials get HTTP 401. Tokens are RS256 JWTs carrying the signing certificate in
the x5c header; the registry trusts that certificate through `rootcertbundle`.
Signing uses the openssl CLI, so only the python stdlib is needed.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    def __init__(self, key_path, cert_path):
        self.key_path = key_path
        der = subprocess.run(["openssl", "x509", "-in", cert_path, "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key_path],
                             input=signing_input, check=True, capture_output=True).stdout
        return signing_input.decode() + "." + b64url(sig)


class State:
    def __init__(self, args):
        self.args = args
        self.signer = Signer(args.key, args.cert)
        self.lock = threading.Lock()
        self.stats = {"issued": 0, "anonymous": 0, "authenticated": 0, "denied": 0}

    def count(self, key):
        with self.lock:
            self.stats[key] += 1


def parse_scopes(scopes):
    access = []
    for scope in scopes:
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
            access.append({"type": typ, "name": name,
                           "actions": [a for a in actions.split(",") if a]})
    return access


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        sys.stderr.write("token: " + (fmt % args) + "\n")

    def reply(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/stats":
            with self.state.lock:
                return self.reply(200, dict(self.state.stats))
        if url.path != "/token":
            return self.reply(404, {"error": "not found"})
        user = password = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return self.deny()
        self.issue(q.get("service", [""])[0], q.get("scope", []), user, password)

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/token":
            return self.reply(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("grant_type", [""])[0] != "password":
            return self.reply(400, {"error": "unsupported_grant_type"})
        self.issue(form.get("service", [""])[0], form.get("scope", []),
                   form.get("username", [None])[0], form.get("password", [""])[0])

    def deny(self):
        self.state.count("denied")
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                   {"WWW-Authenticate": 'Basic realm="matchlock-rig-token"'})

    def issue(self, service, scopes, user, password):
        args = self.state.args
        if user is not None and (user != args.user or password != args.password):
            return self.deny()
        access = parse_scopes(scopes)
        if user is None:
            self.state.count("anonymous")
            access = [dict(a, actions=[x for x in a["actions"] if x == "pull"])
                      for a in access if not a["name"].startswith("matchlock/private/")]
        else:
            self.state.count("authenticated")
        now = int(time.time())
        # docker-registry accepts a token until exp + 60 s (its Leeway); subtract that so
        # the token really stops working after --ttl seconds.
        claims = {"iss": args.issuer, "sub": user or "", "aud": service or args.service,
                  "exp": now + args.ttl - args.registry_leeway, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        token = self.state.signer.sign(claims)
        self.state.count("issued")
        self.reply(200, {"token": token, "access_token": token, "expires_in": args.ttl,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True, help="writes the listening port here")
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", default="matchlock-rig-token")
    ap.add_argument("--service", default="matchlock-rig")
    ap.add_argument("--user", default="tokenuser")
    ap.add_argument("--password", default="tokenpass")
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--registry-leeway", type=int, default=60)
    args = ap.parse_args()
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
