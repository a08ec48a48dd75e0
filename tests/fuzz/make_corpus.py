#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets (tests/fuzz/*_fuzz.cpp) into
tests/fuzz/corpus/<target>/seed-<name>: valid inputs of each kind and hostile edge cases,
in the input format each target's header comment describes.

    make_corpus.py [TARGET...]     all targets when none is named

Seeds are only the start: bench/fuzz/run.sh grows the corpora and merges them back
(docs/fuzzing.md). Re-running this script rewrites the seed-* files and nothing else.
"""
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def u8(v):
    return struct.pack("<B", v & 0xFF)


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


# --- DNS --------------------------------------------------------------------------------

def dns_query(labels, qtype=1, flags=0x0100, qdcount=1, qid=0x4242):
    q = struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0, 0)
    for label in labels:
        label = label.encode() if isinstance(label, str) else label
        q += bytes([len(label)]) + label
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def seeds_dns():
    yield "a", dns_query(["api", "allowed", "test"])
    yield "aaaa", dns_query(["ab", "cd"], qtype=28)
    yield "nul_in_label", dns_query([b"evil.test\0", "allowed", "test"])
    yield "dot_in_label", dns_query([b"evil.test", "allowed", "test"])
    yield "upper", dns_query(["API", "Allowed", "TEST"])
    yield "xn", dns_query(["xn--bcher-kva", "allowed", "test"])
    yield "long_label", dns_query(["a" * 63, "allowed", "test"])
    yield "long_name", dns_query(["a" * 63] * 3 + ["b" * 61])
    yield "root", dns_query([])
    yield "pointer", struct.pack("!HHHHHH", 1, 0x100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    yield "two_questions", dns_query(["a", "test"], qdcount=2)
    yield "response", dns_query(["a", "test"], flags=0x8180)
    yield "opcode_status", dns_query(["a", "test"], flags=0x1000)
    yield "txt", dns_query(["a", "allowed", "test"], qtype=16)
    yield "truncated", dns_query(["allowed", "test"])[:20]
    yield "numeric_tld", dns_query(["0x7f", "1"])
    # The same bytes are also read as host names and authorities.
    for i, text in enumerate([b"example.com", b"EXAMPLE.com.", b"1.2.3.4:80", b"a.b:0", b"user@host:80",
                              b"[::1]:443", b"host:65536", b"a..b", b"-a.b", b"xn--.test", b"0x7f.1"]):
        yield f"name{i}", text


# --- net::Stack (ops) -------------------------------------------------------------------

OP_TCP, OP_UDP, OP_ICMP, OP_ARP, OP_RAW, OP_APP, OP_TIME = 0, 2, 3, 4, 5, 6, 7
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(slot, flags, seq=b"", ack=b"", modes=0, window=None, opts=None, payload=None):
    out = u8(OP_TCP) + u8(slot) + u8(flags)
    m = modes
    if window is not None:
        m |= 0x10
    if opts == "syn":
        m |= 0x20
    elif opts is not None:
        m |= 0x40
    if payload is not None:
        m |= 0x80
    out += u8(m) + seq + ack
    if window is not None:
        out += u16(window)
    if opts not in (None, "syn"):
        out += u8(len(opts)) + opts
    if payload is not None:
        out += u16(payload)
    return out


def app(index, action, n=0):
    b = u8(OP_APP) + u8((index << 2) | action)
    return b + (u16(n) if action == 0 else b"")


def advance(ms, slow=False):
    return u8(OP_TIME) + u16(ms) + u8(1 if slow else 0)


def handshake(slot):
    return tcp(slot, SYN, opts="syn") + tcp(slot, ACK)


def udp_op(payload, where=0, port=None):
    out = u8(OP_UDP) + u8(where | (8 if port is not None else 0))
    if port is not None:
        out += u16(port)
    return out + u8(len(payload)) + payload


def seeds_stack():
    mtu1500 = u8(0)
    yield "handshake_data_close", (mtu1500 + handshake(0) + app(0, 0, 25) + tcp(0, ACK | PSH, payload=300) +
                                   tcp(0, ACK) + tcp(0, ACK | FIN) + app(0, 1) + app(0, 3) + tcp(0, ACK))
    yield "syn_flood_cookie", (mtu1500 + b"".join(tcp(s, SYN, opts="syn") for s in (0, 1, 2, 3, 4 | 0, 5)) +
                               tcp(5, ACK) + tcp(5, ACK | PSH, payload=10) + advance(3000))
    yield "refused_ports", mtu1500 + handshake(0x20) + handshake(0x30) + tcp(0x10, SYN) + tcp(0x10, ACK | RST)
    yield "out_of_order_sack", (mtu1500 + tcp(1, SYN, opts=bytes([2, 4, 5, 0xb4, 4, 2, 3, 3, 14, 0])) + tcp(1, ACK) +
                                tcp(1, ACK, seq=u8(20), modes=1, payload=1000) + tcp(1, ACK, payload=1280) +
                                tcp(1, ACK, payload=0x4000) + app(0, 1))
    yield "zero_window_persist", (mtu1500 + handshake(2) + tcp(2, ACK, window=0) + app(0, 0, 0x8000) +
                                  advance(500) + advance(5000) + tcp(2, ACK, window=0xffff) + advance(100))
    yield "retransmit_timeout", mtu1500 + handshake(3) + app(0, 0, 3000) + advance(1000) + advance(200, slow=True)
    yield "rst_and_bad_ack", (mtu1500 + handshake(0) + tcp(0, ACK, ack=u32(0xdeadbeef), modes=8) +
                              tcp(0, RST, seq=u32(1), modes=2) + tcp(0, RST))
    yield "half_close", mtu1500 + handshake(0) + app(0, 2) + tcp(0, ACK) + tcp(0, ACK | FIN) + advance(60000)
    yield "time_wait_reuse", (mtu1500 + handshake(0) + tcp(0, ACK | FIN) + app(0, 3) + tcp(0, ACK) +
                              tcp(0, SYN, opts="syn") + tcp(0, ACK))
    yield "mtu576_segments", u8(1) + handshake(0) + app(0, 0, 5000) + tcp(0, ACK) + tcp(0, ACK, payload=2000)
    yield "jumbo", u8(3) + handshake(0) + tcp(0, ACK, payload=8999) + app(0, 0, 30000) + tcp(0, ACK)
    dns = dns_query(["api", "allowed", "test"])
    yield "dns", mtu1500 + udp_op(dns) + udp_op(dns_query([b"a\0b", "test"])) + udp_op(dns, where=0x10)
    yield "udp_elsewhere", mtu1500 + udp_op(b"x", where=1) + udp_op(b"hello", port=123)
    yield "icmp_echo", mtu1500 + u8(OP_ICMP) + u8(0) + u8(8) + u8(56) + u8(OP_ICMP) + u8(1) + u8(8) + u8(8)
    yield "arp", mtu1500 + u8(OP_ARP) + u8(0) + u8(OP_ARP) + u8(1) + u8(OP_ARP) + u8(2) + u32(0x0a000002)
    eth = bytes.fromhex("525400123456525400000a0a")
    ipv6 = eth + b"\x86\xdd" + b"\x60" + b"\0" * 39
    opts_ip = (eth + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x46, 0, 48, 1, 0x4000, 64, 17, 0,
                                                bytes([192, 168, 127, 2]), bytes([192, 168, 127, 1])) +
               b"\x01\x01\x01\x00" + struct.pack("!HHHH", 5353, 53, 24, 0) + b"\0" * 16)
    frag = (eth + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0x2000, 64, 17, 0,
                                             bytes([192, 168, 127, 2]), bytes([192, 168, 127, 1])) + b"\0" * 8)
    yield "raw_frames", (mtu1500 + u8(OP_RAW) + u8(0) + u16(len(ipv6)) + ipv6 + u8(OP_RAW) + u8(1) + u16(len(opts_ip)) +
                         opts_ip + u8(OP_RAW) + u8(1) + u16(len(frag)) + frag + u8(OP_RAW) + u8(0) + u16(10) + eth[:10])


# --- TLS ClientHello --------------------------------------------------------------------

def ext(t, body):
    return struct.pack("!HH", t, len(body)) + body


def sni_ext(*names, name_type=0):
    lst = b"".join(struct.pack("!BH", name_type, len(n)) + n for n in names)
    return ext(0, struct.pack("!H", len(lst)) + lst)


def alpn_ext(*protos):
    lst = b"".join(bytes([len(p)]) + p for p in protos)
    return ext(16, struct.pack("!H", len(lst)) + lst)


def client_hello(exts, record_version=b"\x03\x01", split=None):
    body = b"\x03\x03" + b"\x11" * 32 + b"\x20" + b"\x22" * 32 + struct.pack("!H", 4) + b"\x13\x01\x00\xff" + b"\x01\x00"
    if exts is not None:
        e = b"".join(exts)
        body += struct.pack("!H", len(e)) + e
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    parts = [hs] if split is None else [hs[:split], hs[split:]]
    return b"".join(b"\x16" + record_version + struct.pack("!H", len(p)) + p for p in parts)


def seeds_tls_sni():
    yield "sni", client_hello([sni_ext(b"api.allowed.test"), alpn_ext(b"h2", b"http/1.1")])
    yield "no_sni", client_hello([alpn_ext(b"http/1.1")])
    yield "no_extensions", client_hello(None)
    yield "split_records", client_hello([sni_ext(b"a.allowed.test")], split=7)
    yield "ech", client_hello([sni_ext(b"public.test"), ext(0xfe0d, b"\0" * 16)])
    yield "duplicate_ext", client_hello([sni_ext(b"a.test"), sni_ext(b"b.test")])
    yield "two_host_names", client_hello([sni_ext(b"a.allowed.test", b"evil.test")])
    yield "empty_name", client_hello([sni_ext(b"")])
    yield "nul_name", client_hello([sni_ext(b"evil.test\0.allowed.test")])
    yield "upper_name", client_hello([sni_ext(b"API.Allowed.TEST.")])
    yield "ip_name", client_hello([sni_ext(b"10.0.0.1")])
    yield "other_name_type", client_hello([sni_ext(b"x", name_type=1)])
    yield "trailing_bytes", client_hello([sni_ext(b"a.test")]) + b"\x17\x03\x03\x00\x01\x00"
    yield "not_tls", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    yield "sslv2", b"\x80\x2e\x01\x00\x02\x00\x15"


# --- HTTP -------------------------------------------------------------------------------

PLACEHOLDER = "MATCHLOCK_SECRET_0123456789abcdef0123456789abcdef"
PLACEHOLDER2 = "MATCHLOCK_SECRET_fedcba9876543210fedcba9876543210"


def seeds_http_request():
    plain_allowed, tls_secret, tls_allowed = 1, 4, 4 | 2

    def seed(pick, text, step=6):
        return u8(pick) + u8(step) + text.encode("latin-1")
    yield "get", seed(plain_allowed, "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
    yield "post_length", seed(plain_allowed, "POST /x HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 5\r\n\r\nhello", step=0)
    yield "post_chunked", seed(plain_allowed, "POST / HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                                              "5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n")
    yield "pipelined", seed(plain_allowed, "GET /a HTTP/1.1\r\nHost: allowed.test\r\n\r\n"
                                           "GET /b HTTP/1.1\r\nHost: allowed.test\r\n\r\nHEAD /c HTTP/1.1\r\nHost: a.allowed.test\r\n\r\n", step=3)
    yield "absolute_form", seed(plain_allowed, "GET http://allowed.test:80/p?q HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
    yield "absolute_mismatch", seed(plain_allowed, "GET http://evil.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
    yield "connect", seed(plain_allowed, "CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n")
    yield "duplicate_host", seed(plain_allowed, "GET / HTTP/1.1\r\nHost: allowed.test\r\nHost: evil.test\r\n\r\n")
    yield "fronting", seed(plain_allowed, "GET / HTTP/1.1\r\nHost: deny.allowed.test\r\n\r\n")
    yield "secret_header_tls", seed(tls_secret, f"GET / HTTP/1.1\r\nHost: secret.test\r\nAuthorization: Bearer {PLACEHOLDER}\r\n\r\n")
    yield "secret_query_basic", seed(tls_secret, "GET /?k=" + PLACEHOLDER + " HTTP/1.1\r\nHost: secret.test\r\n"
                                     "Authorization: Basic " + __import__("base64").b64encode(("u:" + PLACEHOLDER).encode()).decode() + "\r\n\r\n")
    yield "secret_other_host", seed(tls_secret, f"GET / HTTP/1.1\r\nHost: a.allowed.test\r\nX-Key: {PLACEHOLDER}\r\n\r\n")
    yield "secret_in_length", seed(tls_secret, f"GET / HTTP/1.1\r\nHost: secret.test\r\nContent-Length: {PLACEHOLDER}\r\n\r\n")
    yield "secret_plain_http", seed(plain_allowed, f"GET / HTTP/1.1\r\nHost: allowed.test\r\nX-Key: {PLACEHOLDER2}\r\n\r\n")
    yield "key_header_only", seed(tls_allowed, f"GET /?x={PLACEHOLDER2} HTTP/1.1\r\nHost: a.allowed.test\r\nX-Key: {PLACEHOLDER2}\r\n\r\n")
    yield "h2c_upgrade", seed(plain_allowed, "GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                                             "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n")
    yield "expect_continue", seed(plain_allowed, "PUT / HTTP/1.1\r\nHost: allowed.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
    yield "cl_te", seed(plain_allowed, "POST / HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    yield "obs_fold", seed(plain_allowed, "GET / HTTP/1.1\r\nHost: allowed.test\r\nX: a\r\n b\r\n\r\n")
    yield "propfind", seed(plain_allowed, "PROPFIND /dav HTTP/1.1\r\nHost: allowed.test\r\nDepth: 1\r\n\r\n")
    yield "nul_host", seed(plain_allowed, "GET / HTTP/1.1\r\nHost: evil.test\0.allowed.test\r\n\r\n")
    yield "options_star", seed(plain_allowed, "OPTIONS * HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n")
    yield "ip_host", seed(3, "GET / HTTP/1.1\r\nHost: 10.1.2.3\r\n\r\n")
    yield "http10", seed(plain_allowed, "GET / HTTP/1.0\r\nHost: allowed.test\r\n\r\n")
    yield "bare_lf", seed(plain_allowed, "GET / HTTP/1.1\nHost: allowed.test\n\n")


def seeds_http_response():
    def seed(pick, text, step=6):
        return u8(pick) + u8(step) + text.encode("latin-1")
    yield "length", seed(0, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n")
    yield "chunked", seed(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", step=1)
    yield "head", seed(1, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n")
    yield "continue", seed(2, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    yield "until_close", seed(4, "HTTP/1.0 200 OK\r\n\r\nall the rest")
    yield "switching", seed(0, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00")
    yield "close", seed(8, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n")
    yield "bad_status", seed(0, "HTTP/1.1 2000 OK\r\n\r\n")
    yield "conflicting_length", seed(0, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    yield "te_and_cl", seed(0, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    yield "bare_lf_chunks", seed(0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n")


def seeds_http_chunked():
    def seed(text, step=6):
        return u8(step) + text.encode("latin-1")
    yield "simple", seed("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    yield "extensions", seed("5;a=b;c=\"d\"\r\nhello\r\n0;last\r\n\r\n", step=0)
    yield "trailers", seed("1\r\nx\r\n0\r\nDigest: abc\r\nX-Other: 1\r\n\r\n")
    yield "bare_lf", seed("5\nhello\n0\n\n")
    yield "upper_hex", seed("A\r\n0123456789\r\n0\r\n\r\n", step=2)
    yield "too_large", seed("ffffffffffffffff\r\n")
    yield "no_digits", seed(";x\r\n")
    yield "space_before_crlf", seed("5 \r\nhello\r\n0\r\n\r\n")
    yield "missing_crlf", seed("5\r\nhelloX\r\n0\r\n\r\n")
    yield "smuggled_request", seed("0\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n")
    yield "empty", seed("0\r\n\r\n")
    yield "leading_zeros", seed("0000000000000005\r\nhello\r\n0\r\n\r\n")


# --- host <-> guest protocol -------------------------------------------------------------

HELLO, CONTROL, OPEN, DATA, EOF_, CREDIT, CLOSE = 1, 2, 3, 4, 5, 6, 7


def frame(channel, ftype, payload):
    if isinstance(payload, (dict, list)):
        payload = json.dumps(payload).encode()
    return struct.pack("<IBBHI", channel, ftype, 0, 0, len(payload)) + payload


def data(channel, stream, payload):
    return frame(channel, DATA, bytes([stream]) + payload)


def seeds_protocol_host():
    hello = frame(0, HELLO, {"version": 1, "agent": "0.1.0"})
    yield "boot_and_exec", (u8(0) + hello + frame(0, CONTROL, {"op": "ready", "uname": "Linux", "agent_version": "0.1.0",
                                                                 "timings_ms": [["agent_start", 12], ["ready", 300]]}) +
                            data(1, 1, b"out") + data(1, 2, b"err") + frame(1, EOF_, b"\x01") + frame(1, EOF_, b"\x02") +
                            frame(1, CREDIT, u32(4096)) + frame(1, CONTROL, {"op": "exit", "code": 3, "signal": 0}) +
                            frame(1, CLOSE, b""))
    yield "boot_failed", u8(1) + hello + frame(0, CONTROL, {"op": "boot_failed", "message": "no disk"})
    yield "file_errors", (u8(2) + hello + frame(3, CONTROL, {"op": "error", "message": "missing", "code": "not_found"}) +
                          frame(5, CONTROL, {"op": "error", "message": 7}) + frame(5, EOF_, b"\x01"))
    yield "wrong_types", (u8(3) + hello + frame(1, CONTROL, {"op": "exit", "code": "3", "signal": 1e300}) +
                          frame(3, CONTROL, {"op": "error", "message": ["x"], "code": 1}) +
                          frame(0, CONTROL, {"op": "ready", "uname": 1}))
    yield "float_exit", u8(0) + hello + frame(1, CONTROL, {"op": "exit", "code": 2.5, "signal": -1})
    listing = "\n".join(json.dumps(e) for e in [
        {"path": "src", "type": "dir", "mode": 493, "opaque": True},
        {"path": "src/new.c", "type": "file", "mode": 420},
        {"path": "src/main.c", "type": "whiteout"},
        {"path": "etc-link/passwd", "type": "file", "mode": 420},
        {"path": "l", "type": "symlink", "mode": 511, "target": "/etc/passwd"},
    ]).encode() + b"\n"
    yield "snapshot_listing", u8(0) + hello + data(7, 1, listing) + frame(7, EOF_, b"\x01")
    yield "snapshot_bad", (u8(1) + hello + data(7, 1, b'{"path": "../x", "type": "file"}\n{"path": 5}\n' +
                                                  b'{"path": "a", "mode": 1e300}\n[1,2]\n'))
    yield "window_overrun", u8(4) + hello + data(1, 1, b"x" * 70000) * 4
    yield "session_flood", u8(5) + hello + frame(0, CONTROL, {"op": "x"}) * 70
    yield "bad_frames", u8(0) + hello + frame(0, DATA, b"\x01x") + struct.pack("<IBBHI", 1, 9, 0, 0, 0)
    yield "credit_overflow", u8(0) + hello + frame(1, CREDIT, u32(1 << 30)) * 3 + frame(1, CREDIT, u32(0))


def seeds_protocol_agent():
    hello = frame(0, HELLO, {"version": 1, "host": "0.1.0"})
    boot = {"op": "boot", "time_unix_ns": 1700000000000000000, "hostname": "sb", "hosts": ["127.0.0.1 localhost"],
            "lower_disks": ["ml-image"], "upper_disk": "ml-upper",
            "mounts": [{"id": 0, "target": "/workspace", "mode": "rw"}, {"id": 1, "target": "/s", "mode": "snapshot", "tag": "fs1"}],
            "net": {"address": "192.168.127.2", "prefix": 24, "gateway": "192.168.127.1", "mtu": 1500, "ca_pem": "x"}}
    yield "boot", u8(0) + hello + frame(0, CONTROL, boot) + frame(0, CONTROL, {"op": "freeze"}) + frame(0, CONTROL, {"op": "shutdown"})
    yield "exec", (u8(1) + hello + frame(1, OPEN, {"kind": "exec", "argv": ["sh", "-c", "true"], "env": ["A=1"], "cwd": "/",
                                                    "user": "", "tty": True, "rows": 24, "cols": 80}) +
                   data(1, 0, b"input") + frame(1, EOF_, b"\x00") + frame(1, CREDIT, u32(100)) +
                   frame(1, CONTROL, {"op": "signal", "signal": 15}) + frame(1, CONTROL, {"op": "resize", "rows": 50, "cols": 132}) +
                   frame(1, CONTROL, {"op": "close_output", "stream": 2}) + frame(1, CLOSE, b""))
    yield "open_kinds", (u8(2) + hello + frame(3, OPEN, {"kind": "put", "path": "/tmp/x", "mode": 420}) +
                         frame(5, OPEN, {"kind": "get", "path": "/etc/hostname", "max_size": 65536}) +
                         frame(7, OPEN, {"kind": "tcp", "port": 8080}) + frame(9, OPEN, {"kind": "fuse", "port": 0}) +
                         frame(11, OPEN, {"kind": "snapshot", "port": 1}) + frame(13, OPEN, {"kind": "snapshot-list", "port": 1}) +
                         frame(15, OPEN, {"kind": "nope"}) + frame(17, OPEN, {"argv": []}))
    yield "wrong_types", (u8(3) + hello + frame(0, CONTROL, {"op": 5}) +
                          frame(1, OPEN, {"kind": "exec", "argv": ["x"], "env": [], "cwd": "/", "user": "", "rows": 1e300, "cols": 1}) +
                          frame(3, OPEN, {"kind": "get", "path": "/x", "max_size": -1.5}) +
                          frame(5, OPEN, {"kind": "exec", "argv": ["x"], "env": [], "cwd": "/", "user": "", "rows": 1, "cols": 1}) +
                          frame(5, CONTROL, {"op": "signal", "signal": "KILL"}) + frame(5, CONTROL, {"op": "resize", "rows": 1e20}) +
                          frame(7, OPEN, {"kind": "tcp", "port": 1e10}))
    yield "bad_boot", (u8(4) + hello + frame(0, CONTROL, {"op": "boot", "time_unix_ns": 1, "hostname": "h", "upper_disk": "u",
                                                            "mounts": [{"id": 70000, "target": "rel", "mode": "x"}],
                                                            "net": {"prefix": 99}}))
    yield "even_channel", u8(0) + hello + frame(2, OPEN, {"kind": "tcp", "port": 1})
    yield "no_hello", u8(0) + frame(0, CONTROL, {"op": "boot"})
    yield "window_overrun", u8(5) + hello + frame(1, OPEN, {"kind": "tcp", "port": 1}) + data(1, 0, b"y" * 65536) * 5


# --- workspace (FUSE), virtqueue ----------------------------------------------------------

def seeds_workspace():
    sys.path.insert(0, HERE)
    import make_workspace_corpus  # noqa: E402 (the FUSE request builders)
    for i, (name, data_) in enumerate(make_workspace_corpus.seeds()):
        yield name, u8(i % 4) + data_  # byte 0: read-only, cache policy


def desc(addr, length, flags, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def vq_header(num_log2, where, desc_off, avail_off, used_off, last_avail=0, reply=4):
    return u8(num_log2) + u8(where) + u16(desc_off) + u16(avail_off) + u16(used_off) + u16(last_avail) + u8(reply)


def ram(blocks):
    """A RAM image (memfd bytes) from {offset: bytes}."""
    size = max(off + len(b) for off, b in blocks.items())
    out = bytearray(size)
    for off, b in blocks.items():
        out[off:off + len(b)] = b
    return bytes(out)


def avail(idx, *heads, flags=0):
    return struct.pack("<HH", flags, idx) + b"".join(struct.pack("<H", h) for h in heads)


NEXT, WRITE, INDIRECT = 1, 2, 4
R1 = 0x4800  # file offset of region 1 (guest-physical 0x100000)


def seeds_virtqueue():
    hdr = vq_header(3, 0, 0x0, 0x200, 0x400)
    yield "chain", hdr + ram({0x0: desc(0x1000, 5, NEXT, 1) + desc(0x100000, 4, NEXT, 2) + desc(0x2000, 64, WRITE),
                              0x200: avail(1, 0), 0x1000: b"head:", R1: b"body"})
    table = desc(0x1000, 16, NEXT, 1) + desc(0x2000, 32, WRITE)
    yield "indirect", hdr + ram({0x0: desc(0x808, 32, INDIRECT), 0x200: avail(1, 0), 0x808: table, 0x1000: b"indirect request"})
    yield "indirect_odd_address", hdr + ram({0x0: desc(0x803, 32, INDIRECT), 0x200: avail(1, 0), 0x803: table})
    yield "loop", hdr + ram({0x0: desc(0x1000, 1, NEXT, 1) + desc(0x1000, 1, NEXT, 0), 0x200: avail(1, 0)})
    yield "outside_ram", hdr + ram({0x0: desc(0x80000, 16, 0) + desc(0x3ff0, 32, 0) + desc(0xfffffffffffffff0, 32, WRITE),
                                    0x200: avail(3, 0, 1, 2)})
    yield "readable_after_writable", hdr + ram({0x0: desc(0x1000, 8, WRITE | NEXT, 1) + desc(0x1008, 8, 0), 0x200: avail(1, 0)})
    yield "nested_indirect", hdr + ram({0x0: desc(0x800, 16, INDIRECT), 0x200: avail(1, 0), 0x800: desc(0x900, 16, INDIRECT)})
    yield "many_available", hdr + ram({0x0: desc(0x1000, 4, WRITE), 0x200: avail(0xffff, *([0] * 8))})
    yield "misaligned_rings", vq_header(3, 0, 0x4, 0x201, 0x402) + ram({0x0: b"\0" * 0x600})
    yield "rings_in_region1", vq_header(4, 7, 0x0, 0x100, 0x200) + ram({R1: desc(0x100800, 8, WRITE), R1 + 0x100: avail(1, 0)})
    yield "bad_num", vq_header(3, 0x80, 0x0, 0x200, 0x400) + u16(6)


# --- OCI -------------------------------------------------------------------------------

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
D3 = "sha256:" + "c" * 64


def seeds_oci_manifest():
    def seed(pick, doc):
        return u8(pick) + (json.dumps(doc) if not isinstance(doc, str) else doc).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D1, "size": 500,
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D2, "size": 501,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D3, "size": 10,
         "platform": {"os": "unknown", "architecture": "unknown"}, "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}]}
    yield "oci_index", seed(1, index)
    yield "docker_list", seed(3, dict(index, mediaType="application/vnd.docker.distribution.manifest.list.v2+json"))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D1, "size": 1000},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 12345},
                           {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": D3, "size": 1},
                           {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": D3, "size": 0}]}
    yield "oci_manifest", seed(2, manifest)
    yield "docker_manifest", seed(4, dict(manifest, mediaType="application/vnd.docker.distribution.manifest.v2+json"))
    yield "foreign_layer", seed(0, dict(manifest, layers=[{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                                                           "digest": D2, "size": 5, "urls": ["http://x"]}]))
    yield "bad_digest", seed(2, dict(manifest, config={"mediaType": "x", "digest": "sha256:XYZ", "size": 1}))
    yield "negative_size", seed(2, dict(manifest, config={"mediaType": "x", "digest": D1, "size": -1}))
    yield "huge_size", seed(2, '{"schemaVersion":2,"config":{"digest":"' + D1 + '","size":18446744073709551615},"layers":[]}')
    yield "schema1", seed(5, {"schemaVersion": 1, "name": "x", "fsLayers": []})
    yield "artifact", seed(2, dict(manifest, artifactType="application/vnd.example"))
    yield "content_type_params", seed(6, manifest)
    yield "html", seed(7, "<html>not found</html>")
    config = {"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "echo"],
              "Env": ["PATH=/usr/bin"], "WorkingDir": "/w", "User": "1000:1000", "ExposedPorts": {"80/tcp": {}},
              "Volumes": {"/data": {}}, "Labels": {"a": "b"}},
              "rootfs": {"type": "layers", "diff_ids": [D1, D2]}}
    yield "config", seed(0x80, config)
    yield "config_nulls", seed(0x80, {"architecture": None, "config": None, "rootfs": {"diff_ids": None}})
    yield "config_types", seed(0x80, {"architecture": 5, "config": {"Env": "x", "Labels": [1]}, "rootfs": {"diff_ids": [1]}})


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = e.get("type", tarfile.REGTYPE)
            info.mode = e.get("mode", 0o644)
            info.mtime = e.get("mtime", 1700000000)
            info.linkname = e.get("link", "")
            info.uid = e.get("uid", 0)
            info.pax_headers = e.get("pax", {})
            content = e.get("data", b"")
            if info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = 1, 3
            info.size = len(content) if info.type == tarfile.REGTYPE else 0
            t.addfile(info, io.BytesIO(content) if info.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def layer_seed(*layers):
    out = u8(len(layers) - 1)
    for blob in layers[:-1]:
        out += u16(len(blob)) + blob
    return out + layers[-1]


def seeds_oci_layer():
    D, F, L, H = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
    base = tar_bytes([{"name": "etc/", "type": D, "mode": 0o755}, {"name": "etc/passwd", "data": b"root:x:0:0::/root:/bin/sh\n"},
                      {"name": "bin/sh", "data": b"\x7fELF" + b"\0" * 100, "mode": 0o4755},
                      {"name": "bin/ash", "type": H, "link": "bin/sh"}, {"name": "usr/lib/x", "data": b"x"},
                      {"name": "lib", "type": L, "link": "usr/lib"}, {"name": "dev/null", "type": tarfile.CHRTYPE},
                      {"name": "run/fifo", "type": tarfile.FIFOTYPE}, {"name": "opt/d/e/f", "data": b"deep"}])
    yield "one_layer", layer_seed(base)
    top = tar_bytes([{"name": "etc/.wh.passwd"}, {"name": "opt/d/.wh..wh..opq"}, {"name": "opt/d/new", "data": b"n"},
                     {"name": "usr/.wh..wh.plnk"}, {"name": "lib/y", "data": b"through a symlinked parent"}])
    yield "whiteouts", layer_seed(base, top)
    yield "gzip", layer_seed(gzip.compress(base, mtime=0), top)
    if shutil.which("zstd"):
        z = subprocess.run(["zstd", "-q", "-c"], input=top, capture_output=True, check=True).stdout
        yield "zstd", layer_seed(base, z)
    yield "escapes", layer_seed(tar_bytes([{"name": "../../etc/shadow", "data": b"x"}, {"name": "/abs/file", "data": b"y"},
                                           {"name": "up", "type": L, "link": "../../../../"}, {"name": "up/escaped", "data": b"z"},
                                           {"name": "abs", "type": L, "link": "/etc"}, {"name": "abs/passwd", "data": b"w"}]))
    yield "hostile", layer_seed(tar_bytes([{"name": "d/", "type": D}, {"name": "hl", "type": H, "link": "d"},
                                           {"name": "missing", "type": H, "link": "nope"}]))
    yield "bad_whiteouts", layer_seed(tar_bytes([{"name": ".wh."}, {"name": "x/.wh..."}, {"name": ".wh..."}]))
    yield "root_replaced", layer_seed(tar_bytes([{"name": "./", "type": D, "mode": 0o700}, {"name": ".", "data": b"file root"}]))
    yield "long_names", layer_seed(tar_bytes([{"name": "a" * 300, "data": b"x"}, {"name": "/".join(["d"] * 600) + "/f"},
                                              {"name": "s", "type": L, "link": "t" * 5000}]))
    yield "gnu_format", layer_seed(tar_bytes([{"name": "g/" + "n" * 120, "data": b"gnu"}, {"name": "ln", "type": L, "link": "l" * 120}],
                                             fmt=tarfile.GNU_FORMAT))
    yield "pax_xattrs", layer_seed(tar_bytes([{"name": "cap", "data": b"c", "pax": {"SCHILY.xattr.security.capability": "\x01\x00",
                                                                                       "SCHILY.xattr.user.x": "y", "uid": "4294967296"}}]))
    yield "symlink_loop", layer_seed(tar_bytes([{"name": "a", "type": L, "link": "b"}, {"name": "b", "type": L, "link": "a"},
                                                {"name": "a/x", "data": b"loop"}]))
    yield "replace_dir_with_file", layer_seed(base, tar_bytes([{"name": "etc", "data": b"now a file"}, {"name": "etc/", "type": D}]))
    yield "truncated", layer_seed(base[:700])
    yield "gzip_bomb_head", layer_seed(gzip.compress(b"\0" * (1 << 20), mtime=0))
    yield "empty", layer_seed(b"")


# --- engine: Matchlockfile, lockfile ---------------------------------------------------------

def seeds_config():
    n = 0
    for sub in ("valid", "invalid"):
        d = os.path.join(ROOT, "tests", "corpus", sub)
        for f in sorted(os.listdir(d)):
            if f.endswith(".toml") or f == "Matchlockfile" or "." not in f:
                with open(os.path.join(d, f), "rb") as fh:
                    yield f"{sub}_{f}", fh.read()
                n += 1
    for ex in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        p = os.path.join(ROOT, "examples", ex, "Matchlockfile")
        if os.path.exists(p):
            with open(p, "rb") as fh:
                yield f"example_{ex}", fh.read()
    yield "task_cycle", (b'[sandbox]\nimage = "debian:12"\n[tasks.a]\nrun = "x"\nneeds = ["b"]\n'
                         b'[tasks.b]\nrun = "y"\nneeds = ["a"]\n')
    yield "control_chars", b'[sandbox]\nimage = "debian:12\\u0000evil"\n[network]\nallow = ["a\\u001b[31m.test"]\n'
    yield "float_numbers", b'[sandbox]\nimage = "debian:12"\ncpus = 1e300\nmemory = "1e300 GiB"\n[[ports]]\nhost = 8.5\nguest = -1\n'


def seeds_lockfile():
    img = ('[[image]]\nreference = "127.0.0.1:5000/busybox:latest"\nplatform = "linux/amd64"\nindex = ""\n'
           f'manifest = "{D1}"\nconfig = "{D2}"\nrootfs = "{D3}"\n')
    yield "valid", ("# Generated by `matchlock lock`. Do not edit.\nversion = 1\n\n" + img +
                    f'\n[kernel]\nreference = "/boot/vmlinuz"\nbundle = "{D1}"\n').encode()
    yield "float_version", ("version = 1e300\n" + img).encode()
    yield "float_one", b"version = 1.0\n"
    yield "string_version", b'version = "1"\n'
    yield "control_char", ('version = 1\n' + img.replace("linux/amd64", "linux/amd64\\u0007\\u001b[2J")).encode()
    yield "image_not_table", b"version = 1\nimage = [1, 2]\n"
    yield "missing_fields", b"version = 1\n[[image]]\nreference = 5\n"
    yield "kernel_partial", b'version = 1\n[kernel]\nreference = "x"\n'
    yield "quotes", ('version = 1\n' + img.replace("busybox:latest", 'a\\"b\\\\c')).encode()
    yield "bad_toml", b"version = = 1\n[[image]\n"


TARGETS = {
    "dns": seeds_dns, "stack": seeds_stack, "tls_sni": seeds_tls_sni, "http_request": seeds_http_request,
    "http_response": seeds_http_response, "http_chunked": seeds_http_chunked, "protocol_host": seeds_protocol_host,
    "protocol_agent": seeds_protocol_agent, "workspace": seeds_workspace, "virtqueue": seeds_virtqueue,
    "oci_manifest": seeds_oci_manifest, "oci_layer": seeds_oci_layer, "config": seeds_config, "lockfile": seeds_lockfile,
}


def main():
    names = sys.argv[1:] or list(TARGETS)
    for name in names:
        out = os.path.join(HERE, "corpus", name)
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            if f.startswith("seed-"):
                os.remove(os.path.join(out, f))
        count = 0
        for seed, data_ in TARGETS[name]():
            with open(os.path.join(out, "seed-" + seed), "wb") as fh:
                fh.write(data_)
            count += 1
        print(f"{name}: {count} seeds")


if __name__ == "__main__":
    main()
