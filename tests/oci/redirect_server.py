"""A tiny Basic-auth registry on 127.0.0.1 whose blob GETs redirect (307) to a second
server on "localhost" (another host:port). The second server records every
Authorization header it receives in --seen. Writes "REGISTRY_PORT" to --port-file."""
import argparse, gzip, hashlib, io, json, tarfile, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--seen", required=True)
args = ap.parse_args()

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    info = tarfile.TarInfo("hello.txt"); data = b"hello\n"; info.size = len(data); info.mtime = 1700000000
    t.addfile(info, io.BytesIO(data))
layer = gzip.compress(raw.getvalue(), mtime=0)
sha = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": [sha(raw.getvalue())]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(layer), "size": len(layer)}]}).encode()
blobs = {sha(config): config, sha(layer): layer}
AUTH = "Basic dXNlcjpwYXNz"  # user:pass


class Cdn(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        with open(args.seen, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Authorization", "-")))
        body = blobs.get(self.path.rsplit("/", 1)[-1])
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


cdn = ThreadingHTTPServer(("127.0.0.1", 0), Cdn)
threading.Thread(target=cdn.serve_forever, daemon=True).start()


class Registry(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.headers.get("Authorization") != AUTH:
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                              [("WWW-Authenticate", 'Basic realm="rig"')])
        if self.path == "/v2/":
            return self.reply(200, b"{}")
        if self.path.startswith("/v2/redir/manifests/"):
            return self.reply(200, manifest, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
        if self.path.startswith("/v2/redir/blobs/"):
            digest = self.path.rsplit("/", 1)[-1]
            return self.reply(307, b"", [("Location", "http://localhost:%d/cdn/%s" % (cdn.server_address[1], digest))])
        self.reply(404)


reg = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
with open(args.port_file, "w") as f:
    f.write(str(reg.server_address[1]))
reg.serve_forever()
