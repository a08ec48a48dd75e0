#!/usr/bin/env python3
"""Floods for the supervisor memory tests, run as the guest (inside the rig's netns).

flood.py syn DST_IP PORT COUNT
    COUNT raw TCP SYNs from random source ports (the guest's kernel must be told to drop
    the SYN-ACKs, or it answers them with RST): half-open connections on the host side.
flood.py hold DST_IP PORT COUNT STOP_FILE [REQUEST]
    COUNT connections, each sending REQUEST once (nothing when empty: an idle flow) with a
    4 KiB receive buffer and never reading; held open until STOP_FILE exists, then closed.
    Prints "connected=N refused=M" once all were tried, to stdout.
"""
import os, random, socket, struct, sys, time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(dst, port, count):
    src = socket.inet_aton("192.168.127.2")
    dst_b = socket.inet_aton(dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sent = 0
    for _ in range(count):
        sport = random.randint(20000, 60000)
        seq = random.getrandbits(32)
        options = struct.pack("!BBH", 2, 4, 1460)  # MSS
        header = struct.pack("!HHIIBBHHH", sport, port, seq, 0, (6 << 4), 0x02, 64240, 0, 0) + options
        pseudo = src + dst_b + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header))
        csum = checksum(pseudo + header)
        header = header[:16] + struct.pack("!H", csum) + header[18:]
        while True:
            try:
                s.sendto(header, (dst, 0))
                break
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:  # ENOBUFS: the TAP queue is full; wait for the stack
                if e.errno != 105:
                    raise
                time.sleep(0.001)
        sent += 1
    print("sent=%d" % sent, flush=True)


def hold(dst, port, count, stop_file, request):
    held, refused = [], 0
    for _ in range(count):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.settimeout(10)
        try:
            c.connect((dst, port))
            if request:
                c.sendall(request.encode().replace(b"\\r\\n", b"\r\n"))
            held.append(c)
        except OSError:
            refused += 1
            c.close()
    print("connected=%d refused=%d" % (len(held), refused), flush=True)
    while not os.path.exists(stop_file):
        time.sleep(0.1)
    for c in held:
        c.close()


def main():
    mode = sys.argv[1]
    if mode == "syn":
        syn(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else "")
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
