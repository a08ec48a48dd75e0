#!/usr/bin/env python3
"""Writes the seed corpus for net_fuzz (tests/fuzz/corpus/net/): valid frames of each kind."""
import os
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(t, payload):
    return bytes.fromhex("52540012345652540000000a") + struct.pack("!H", t) + payload


def ipv4(proto, src, dst, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


G, GW, X = bytes([192, 168, 127, 2]), bytes([192, 168, 127, 1]), bytes([198, 18, 0, 1])


def l4(proto, src, dst, seg, off):
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    c = csum(pseudo + seg)
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]


def dns_query(name, qtype):
    q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def udp(sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return l4(17, G, GW, seg, 6)


def tcp(flags, payload=b"", opts=b""):
    off = (20 + len(opts)) // 4
    seg = struct.pack("!HHIIBBHHH", 40000, 443, 1000, 0, off << 4, flags, 64240, 0, 0) + opts + payload
    return l4(6, G, X, seg, 16)


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, bytes.fromhex("525400123456"), G, b"\0" * 6, GW)
seeds = {
    "arp_request": eth(0x0806, arp),
    "dns_a": eth(0x0800, ipv4(17, G, GW, udp(5353, 53, dns_query("api.example.com", 1)))),
    "dns_aaaa": eth(0x0800, ipv4(17, G, GW, udp(5353, 53, dns_query("ab.cd", 28)))),
    "tcp_syn_opts": eth(0x0800, ipv4(6, G, X, tcp(0x02, opts=bytes.fromhex("020405b4010303070402080a0000000000000000")[:12]))),
    "tcp_data": eth(0x0800, ipv4(6, G, X, tcp(0x18, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))),
    "icmp_echo": eth(0x0800, ipv4(1, G, GW, b"\x08\x00\xf7\xff\x00\x00\x00\x00")),
    "ipv6": eth(0x86DD, b"\x60" + b"\0" * 39),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {out}")
