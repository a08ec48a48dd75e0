#!/usr/bin/env python3
"""Starts/stops the rig's registries on 127.0.0.1 and pushes the fixture images.

usage:
  registry.py up     --dir D --images I   build fast images, start everything, push, write D/env.sh
  registry.py debian --dir D --images I   build (cached) + push the debian image, write D/env-debian.sh
  registry.py arm64  --dir D --images I   build (cached) + push busybox-multi, write D/env-arm64.sh
  registry.py down   --dir D              stop every process listed in D/pids (by pid)
  registry.py token  --dir P --rig-dir D --ttl S   private token server + token registry over
                                          D's storage (tokens live S seconds); P/env.sh

Processes (all `timeout`-wrapped, so a crashed test run cannot leave them forever):
  anon     docker-registry, no auth                       ML_REG_ANON
  basic    docker-registry, htpasswd (bcrypt) Basic auth  ML_REG_BASIC  + _USER/_PASS
  token    docker-registry, Bearer token auth             ML_REG_TOKEN  + _USER/_PASS, ML_REG_TOKEN_REALM
  tokensrv token_server.py (the realm)
  tls      docker-registry, no auth, HTTPS with a test CA ML_REG_TLS, ML_RIG_CA
  fault    fault_proxy.py in pass-through/counting mode in front of anon  ML_REG_FAULT
All registries share one filesystem storage, so an image pushed once is served by all.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hostile  # noqa: E402

TTL = os.environ.get("MATCHLOCK_RIG_TTL", "4h")  # hard lifetime of every rig process
BASIC_USER, BASIC_PASS = "basicuser", "basicpass"
TOKEN_USER, TOKEN_PASS = "tokenuser", "tokenpass"
SERVICE, ISSUER = "matchlock-rig", "matchlock-rig-token"
SECRET = "matchlock-rig-shared-http-secret"

# image layout name -> pushed REPO:TAG (see README.md; names are a stable interface)
PUSH = {
    "busybox": ["matchlock/busybox:latest", "matchlock/private/busybox:latest"],
    "busybox-docker": ["matchlock/busybox:docker"],
    "layers": ["matchlock/layers:latest"],
    "multiarch": ["matchlock/multiarch:latest"],
    "multiarch-docker": ["matchlock/multiarch:docker"],
}
for _k in hostile.BUILDERS:
    if _k not in hostile.LAYOUT_ONLY:
        PUSH["hostile-" + _k] = ["matchlock/hostile-%s:latest" % _k]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Rig:
    def __init__(self, d, shared=None):
        self.dir = os.path.abspath(d)
        self.shared = os.path.abspath(shared or d)  # storage, keys and certificates
        self.pids_path = os.path.join(self.dir, "pids")
        self.env = {}

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def spath(self, *p):
        return os.path.join(self.shared, *p)

    def spawn(self, name, cmd):
        log = open(self.path(name + ".log"), "ab")
        p = subprocess.Popen(["timeout", "-k", "5", TTL] + cmd, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        with open(self.pids_path, "a") as f:
            f.write("%s %d\n" % (name, p.pid))
        self.env["ML_RIG_PID_" + name.upper()] = str(p.pid)
        return p

    def wait_port_file(self, name, p, port_file):
        for _ in range(200):
            if os.path.exists(port_file):
                return int(open(port_file).read())
            if p.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("rig: %s did not start; see %s" % (name, self.path(name + ".log")))

    def wait_http(self, name, p, url, ctx=None):
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=2, context=ctx)
                return
            except urllib.error.HTTPError:
                return  # 401 from an auth'd registry still means "up"
            except OSError:
                if p.poll() is not None:
                    break
                time.sleep(0.05)
        raise SystemExit("rig: %s not answering %s; see %s" % (name, url,
                                                                self.path(name + ".log")))

    # -- credentials and certificates ------------------------------------------

    def make_secrets(self):
        htpasswd = run(["htpasswd", "-Bbn", BASIC_USER, BASIC_PASS],
                       capture_output=True, text=True).stdout
        with open(self.path("htpasswd"), "w") as f:
            f.write(htpasswd)
        q = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-subj", "/CN=matchlock rig token signer", "-keyout", self.path("token.key"),
             "-out", self.path("token.crt")], **q)
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-subj", "/CN=matchlock rig test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", self.path("ca.key"), "-out", self.path("ca.crt")], **q)
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", self.path("tls.key"), "-out", self.path("tls.csr")], **q)
        with open(self.path("tls.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        run(["openssl", "x509", "-req", "-in", self.path("tls.csr"), "-CA", self.path("ca.crt"),
             "-CAkey", self.path("ca.key"), "-CAcreateserial", "-days", "3650",
             "-extfile", self.path("tls.ext"), "-out", self.path("tls.crt")], **q)

    # -- registries --------------------------------------------------------------

    def registry_config(self, name, port, auth=None, tls=False):
        lines = [
            "version: 0.1",
            "log:", "  level: info", "  formatter: text",
            "storage:",
            "  filesystem:", "    rootdirectory: %s" % self.spath("storage"),
            "  delete:", "    enabled: true",
            "  maintenance:", "    uploadpurging:", "      enabled: false",
            "http:", "  addr: 127.0.0.1:%d" % port, "  secret: %s" % SECRET,
            "  headers:", "    X-Content-Type-Options: [nosniff]",
        ]
        if tls:
            lines += ["  tls:", "    certificate: %s" % self.spath("tls.crt"),
                      "    key: %s" % self.spath("tls.key")]
        if auth == "basic":
            lines += ["auth:", "  htpasswd:", "    realm: matchlock-rig-basic",
                      "    path: %s" % self.spath("htpasswd")]
        elif auth == "token":
            lines += ["auth:", "  token:", "    realm: %s" % self.env["ML_REG_TOKEN_REALM"],
                      "    service: %s" % SERVICE, "    issuer: %s" % ISSUER,
                      "    rootcertbundle: %s" % self.spath("token.crt")]
        cfg = self.path("registry-%s.yml" % name)
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        return cfg

    def start_registry(self, name, auth=None, tls=False):
        for _attempt in range(3):
            port = free_port()
            cfg = self.registry_config(name, port, auth, tls)
            p = self.spawn(name, ["docker-registry", "serve", cfg])
            scheme = "https" if tls else "http"
            ctx = ssl.create_default_context(cafile=self.spath("ca.crt")) if tls else None
            try:
                self.wait_http(name, p, "%s://127.0.0.1:%d/v2/" % (scheme, port), ctx)
                return "127.0.0.1:%d" % port
            except SystemExit:
                if p.poll() is None:
                    raise
        raise SystemExit("rig: %s failed to start 3 times" % name)

    def start_python(self, name, script, args):
        port_file = self.path(name + ".port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        p = self.spawn(name, [sys.executable, os.path.join(HERE, script),
                              "--port-file", port_file] + args)
        return "127.0.0.1:%d" % self.wait_port_file(name, p, port_file)

    def start_token(self, ttl):
        tok = self.start_python("tokensrv", "token_server.py",
                                ["--key", self.spath("token.key"), "--cert", self.spath("token.crt"),
                                 "--issuer", ISSUER, "--service", SERVICE, "--ttl", str(ttl),
                                 "--user", TOKEN_USER, "--password", TOKEN_PASS])
        self.env["ML_REG_TOKEN_REALM"] = "http://%s/token" % tok
        self.env["ML_REG_TOKEN_SERVER"] = tok
        self.env["ML_REG_TOKEN"] = self.start_registry("token", auth="token")

    def up(self):
        self.make_secrets()
        os.makedirs(self.path("storage"), exist_ok=True)
        self.start_token(300)
        self.env["ML_REG_ANON"] = self.start_registry("anon")
        self.env["ML_REG_BASIC"] = self.start_registry("basic", auth="basic")
        self.env["ML_REG_TLS"] = self.start_registry("tls", tls=True)
        self.env["ML_REG_FAULT"] = self.start_python(
            "fault", "fault_proxy.py", ["--upstream", self.env["ML_REG_ANON"],
                                        "--log", self.path("fault.jsonl")])
        self.env.update({
            "ML_REG_BASIC_USER": BASIC_USER, "ML_REG_BASIC_PASS": BASIC_PASS,
            "ML_REG_TOKEN_USER": TOKEN_USER, "ML_REG_TOKEN_PASS": TOKEN_PASS,
            "ML_REG_TOKEN_SERVICE": SERVICE, "ML_RIG_CA": self.path("ca.crt"),
            "ML_RIG_DIR": self.dir, "ML_RIG_SRC": HERE,
        })


def push(layout_dir, registry, refs):
    """Copies the layout's "latest" tag to each REPO:TAG, byte for byte."""
    index = json.load(open(os.path.join(layout_dir, "index.json")))
    if index["manifests"][0]["mediaType"].startswith("application/vnd.docker."):
        # skopeo's oci: transport only resolves OCI-typed references
        for ref in refs:
            repo, tag = ref.rsplit(":", 1)
            push_raw(layout_dir, index["manifests"][0], registry, repo, tag)
        return
    for ref in refs:
        run(["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
             "--dest-tls-verify=false", "oci:%s:latest" % layout_dir,
             "docker://%s/%s" % (registry, ref)], stdout=subprocess.DEVNULL)


def poke_blob(storage, repo, digest, data):
    """Stores `data` as blob `digest` of `repo` directly in the registry's filesystem
    storage, bypassing the digest check the API does on upload."""
    hexd = digest.split(":")[1]
    v2 = os.path.join(storage, "docker", "registry", "v2")
    blob_dir = os.path.join(v2, "blobs", "sha256", hexd[:2], hexd)
    link_dir = os.path.join(v2, "repositories", repo, "_layers", "sha256", hexd)
    os.makedirs(blob_dir, exist_ok=True)
    os.makedirs(link_dir, exist_ok=True)
    with open(os.path.join(blob_dir, "data"), "wb") as f:
        f.write(data)
    with open(os.path.join(link_dir, "link"), "w") as f:
        f.write(digest)


def push_raw(layout_dir, desc, registry, repo, tag, storage=None):
    """Minimal anonymous registry push of one manifest (or list: children first, by
    digest), its config and layers. With `storage`, layers are written straight into
    the registry's storage dir (for blobs whose bytes do not match their digest)."""
    base = "http://%s/v2/%s" % (registry, repo)

    def blob(digest):
        with open(os.path.join(layout_dir, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
            return f.read()

    manifest = blob(desc["digest"])
    m = json.loads(manifest)
    blobs = []
    if "manifests" in m:
        for child in m["manifests"]:
            push_raw(layout_dir, child, registry, repo, child["digest"], storage)
    else:
        blobs = [m["config"]] + m["layers"]
        if storage:
            for d in m["layers"]:
                poke_blob(storage, repo, d["digest"], blob(d["digest"]))
            blobs = [m["config"]]
    for d in blobs:
        req = urllib.request.Request(base + "/blobs/uploads/", method="POST", data=b"")
        with urllib.request.urlopen(req) as resp:
            loc = resp.headers["Location"]
        if loc.startswith("/"):
            loc = "http://%s%s" % (registry, loc)
        loc += ("&" if "?" in loc else "?") + "digest=" + d["digest"]
        req = urllib.request.Request(loc, method="PUT", data=blob(d["digest"]),
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(req).close()
    req = urllib.request.Request(base + "/manifests/" + tag, method="PUT", data=manifest,
                                 headers={"Content-Type": desc["mediaType"]})
    urllib.request.urlopen(req).close()


def write_env(path, env, tail=""):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# written by tests/rig/registry.py; source it from a test\n")
        for k in sorted(env):
            f.write("export %s=%s\n" % (k, shquote(env[k])))
        f.write(tail)
    os.replace(tmp, path)


def shquote(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def read_env(path):
    out = subprocess.run(["bash", "-c", 'set -a; . "$1"; env -0', "-", path],
                         check=True, capture_output=True).stdout
    return dict(kv.split("=", 1) for kv in out.decode().split("\0") if "=" in kv)


def _alive(pid):
    """True while pid exists and is not a zombie (our init may reap slowly)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _ours(pid, d):
    """True if pid is still a rig process of dir d (pids may be reused after a crash)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return argv[0] == b"timeout" and any(os.fsencode(d) in a for a in argv)


def down(d):
    """Stops every process group listed in d/pids: SIGTERM, then SIGKILL after 5 s.
    Only processes whose command line still names d are signalled."""
    d = os.path.abspath(d)
    pids_path = os.path.join(d, "pids")
    if not os.path.exists(pids_path):
        return
    pids = [int(line.split()[1]) for line in open(pids_path) if line.strip()]
    pids = [p for p in pids if _ours(p, d)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if _alive(pid):
                try:
                    os.killpg(pid, sig)  # its own session: timeout + the server
                except ProcessLookupError:
                    pass
        for _ in range(100):
            if not any(_alive(p) for p in pids):
                break
            time.sleep(0.05)
    os.unlink(pids_path)


def cmd_up(args):
    down(args.dir)
    if os.path.isdir(args.dir):
        shutil.rmtree(args.dir)
    os.makedirs(args.dir)
    t0 = time.monotonic()
    run([sys.executable, os.path.join(HERE, "make_image.py"), "--out", args.images, "fast"])
    rig = Rig(args.dir)
    try:
        rig.up()
        for name, refs in sorted(PUSH.items()):
            push(os.path.join(args.images, name), rig.env["ML_REG_ANON"], refs)
        for kind in hostile.LAYOUT_ONLY:
            layout = os.path.join(args.images, "hostile-" + kind)
            desc = json.load(open(os.path.join(layout, "index.json")))["manifests"][0]
            push_raw(layout, desc, rig.env["ML_REG_ANON"], "matchlock/hostile-" + kind, "latest",
                     storage=rig.path("storage"))
    except BaseException:
        down(args.dir)
        raise
    rig.env["ML_IMG_DIR"] = os.path.abspath(args.images)
    rig.env["ML_RIG_ENV"] = rig.path("env.sh")
    tail = "".join('[ -f "%s" ] && . "%s"\n' % (rig.path(n), rig.path(n))
                   for n in ("env-debian.sh", "env-arm64.sh"))
    write_env(rig.path("env.sh"), rig.env, tail + "true\n")
    print("rig: up in %.1fs; env in %s" % (time.monotonic() - t0, rig.path("env.sh")))


def cmd_debian(args):
    env = read_env(os.path.join(args.dir, "env.sh"))
    t0 = time.monotonic()
    run([sys.executable, os.path.join(HERE, "make_image.py"), "--out", args.images, "debian"])
    layout = os.path.join(args.images, "debian")
    push(layout, env["ML_REG_ANON"], ["matchlock/debian:bookworm", "matchlock/debian:latest"])
    info = json.load(open(layout + ".info.json"))
    write_env(os.path.join(args.dir, "env-debian.sh"),
              {"ML_IMG_DEBIAN": layout, "ML_IMG_DEBIAN_DIGEST": info["manifest"]})
    print("rig: debian pushed in %.1fs" % (time.monotonic() - t0))


def cmd_arm64(args):
    """busybox-multi (linux/amd64 + linux/arm64 busybox) as matchlock/busybox-multi:latest."""
    env = read_env(os.path.join(args.dir, "env.sh"))
    t0 = time.monotonic()
    run([sys.executable, os.path.join(HERE, "make_image.py"), "--out", args.images, "busybox-multi"])
    layout = os.path.join(args.images, "busybox-multi")
    push(layout, env["ML_REG_ANON"], ["matchlock/busybox-multi:latest"])
    write_env(os.path.join(args.dir, "env-arm64.sh"),
              {"ML_IMG_BUSYBOX_MULTI": env["ML_REG_ANON"] + "/matchlock/busybox-multi:latest"})
    print("rig: busybox-multi pushed in %.1fs" % (time.monotonic() - t0))


def cmd_token(args):
    """A private token server + token-auth registry over the running rig's storage."""
    down(args.dir)
    os.makedirs(args.dir, exist_ok=True)
    rig = Rig(args.dir, shared=args.rig_dir)
    try:
        rig.start_token(args.ttl)
    except BaseException:
        down(args.dir)
        raise
    write_env(rig.path("env.sh"), rig.env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["up", "down", "debian", "arm64", "token"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--images", default=None)
    ap.add_argument("--rig-dir", default=None, help="token: the running rig's dir")
    ap.add_argument("--ttl", type=int, default=300, help="token: token lifetime, seconds")
    args = ap.parse_args()
    if args.command in ("up", "debian", "arm64") and not args.images:
        ap.error("--images is required")
    if args.command == "token" and not args.rig_dir:
        ap.error("--rig-dir is required")
    {"up": cmd_up, "down": lambda a: down(a.dir), "debian": cmd_debian, "arm64": cmd_arm64,
     "token": cmd_token}[args.command](args)


if __name__ == "__main__":
    main()
