#!/usr/bin/env python3
"""Hostile clients of a SmallStack port (HTTP + SRPC), for the tests and bench/soak.

  hostile.py [options] MODE COUNT

Opens COUNT connections to ADDR from SOURCE, each doing MODE, holds them for HOLD
seconds, then (for http-half) finishes the requests, reads the answers and closes
everything. Prints one line: "MODE: N opened, N set up, N refused, N answered".

Modes:
  tcp-idle      connect and send nothing
  http-half     "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n" (no blank line), finished at
                the end
  http-slow     a request head sent one byte per second (slowloris)
  connect-half  half a CONNECT line ("CONNECT /_SRPC_/TLS/JSON HTTP/1.0\\r\\n")
  tls-idle      CONNECT + TLS handshake with --cert, then nothing
  call-half     CONNECT + TLS, a method line and half a JSON body
  flood         connect, send a junk line, close; COUNT times as fast as possible
"""
import argparse
import select
import socket
import ssl
import sys
import time

POLLRDHUP = 0x2000  # Linux: the peer closed its end
CONNECT = b"CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n"


def dial(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    if args.source:
        s.bind((args.source, 0))
    host, port = args.addr.rsplit(":", 1)
    s.connect((host, int(port)))
    return s


def read_head(s):
    buf = b""
    while b"\n\n" not in buf and b"\r\n\r\n" not in buf:
        d = s.recv(1)
        if not d:
            raise ConnectionError("closed during the CONNECT answer")
        buf += d
    if b" 200 " not in buf.split(b"\n", 1)[0]:
        raise ConnectionError("CONNECT refused: %r" % buf[:80])


def tls(args, s):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.ca)
    ctx.check_hostname = False
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    s.sendall(CONNECT)
    read_head(s)
    return ctx.wrap_socket(s, server_hostname="localhost")


def setup(args, mode):
    s = dial(args)
    if mode == "http-half":
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    elif mode == "connect-half":
        s.sendall(b"CONNECT /_SRPC_/TLS/JSON HTTP/1.0\r\n")
    elif mode == "tls-idle":
        s = tls(args, s)
    elif mode == "call-half":
        s = tls(args, s)
        s.sendall(b'Hypervisor.ListVMs\n{"IgnoreStat')
    elif mode == "http-slow":
        s.sendall(b"G")
    return s


def alive(s):
    """Whether the server still holds s open (no EOF or reset waiting)."""
    p = select.poll()
    p.register(s.fileno(), select.POLLIN | POLLRDHUP)
    return not any(ev & (POLLRDHUP | select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode")
    p.add_argument("count", type=int)
    p.add_argument("--addr", default="127.0.0.1:6976")
    p.add_argument("--source", default="", help="local address to bind")
    p.add_argument("--hold", type=float, default=5.0, help="seconds to hold the connections")
    p.add_argument("--timeout", type=float, default=10.0, help="socket timeout")
    p.add_argument("--cert", default="")
    p.add_argument("--key", default="")
    p.add_argument("--ca", default="")
    p.add_argument("--ready", default="", help="file created once the connections are set up")
    args = p.parse_args()

    socks, refused = [], 0
    if args.mode == "flood":
        for _ in range(args.count):
            try:
                s = dial(args)
                s.sendall(b"junk\r\n")
                s.close()
            except OSError:
                refused += 1
        print("flood: %d sent, %d refused" % (args.count, refused))
        return 0
    for _ in range(args.count):
        try:
            socks.append(setup(args, args.mode))
        except (OSError, ssl.SSLError, ConnectionError):
            refused += 1
    if args.ready:
        open(args.ready, "w").close()
    end = time.monotonic() + args.hold
    sent = 0
    while time.monotonic() < end:
        if args.mode == "http-slow" and sent < 200:
            for s in socks:
                try:
                    s.sendall(b"ET /healthz HTTP/1.1\r\n"[sent % 20:sent % 20 + 1])
                except OSError:
                    pass
            sent += 1
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
    held = sum(1 for s in socks if alive(s))
    answered = 0
    if args.mode == "http-half":
        for s in socks:
            try:
                s.sendall(b"\r\n")
                s.settimeout(5)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    answered += 1
            except OSError:
                pass
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    print("%s: %d opened, %d still held after %.0f s, %d refused, %d answered"
          % (args.mode, len(socks), held, args.hold, refused, answered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
