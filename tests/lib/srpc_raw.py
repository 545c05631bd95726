#!/usr/bin/env python3
"""srpc_raw.py: a raw SRPC client for the streaming methods of the image server, so a
test says exactly which bytes it sends and expects (the original's JSON wire forms):

  CONNECT /_SRPC_/TLS/JSON HTTP/1.0 + blank line, "200 Connected" answer, TLS with a
  client certificate on the same socket, then "Service.Method\\n" and its accept line
  ("\\n" = accepted, else the error text), then the method's JSON lines and raw bytes.

  srpc_raw.py [-c CERT -k KEY] --ca CA ADDR list-images     the raw lines, as received
  srpc_raw.py ... ADDR list-dirs                            each Directory JSON line
  srpc_raw.py ... ADDR add-objects [--bad-hash] FILE...     {"Length","ExpectedHash"} +
        bytes per file, {"Length":0,"ExpectedHash":null}, prints each reply line
  srpc_raw.py ... ADDR add-partial FILE CUT                 header + CUT bytes of the
        file, prints "PARTIAL" and waits (the test kills the server meanwhile)
  srpc_raw.py ... ADDR get-objects OUTDIR HEX...            prints the reply line, writes
        each object to OUTDIR/<hex>
  srpc_raw.py ... ADDR call METHOD                          the accept line only
  srpc_raw.py ... ADDR access METHOD...                     "METHOD: accepted" or
        "METHOD: <error line>" per method (a new connection after each accept)
  srpc_raw.py ... ADDR session METHOD JSON [SEND...] [--until RE]  a streaming call:
        sends JSON, prints its reply line and every byte that follows, sends each SEND
        (Python escapes: "\\r") after the reply, until RE matched or --timeout passed
  srpc_raw.py ... ADDR get-updates LINE STOPFILE            Hypervisor.GetUpdates: reads
        the first Update, sends LINE (a GetUpdatesRequest, byte for byte) and prints the
        reply line, holds the stream open until STOPFILE exists, then closes it
Exit status 0, 1 for a refusal (printed), 2 for usage.
"""
import argparse
import hashlib
import json
import os
import socket
import ssl
import sys
import time


def dial(args):
    host, port = args.addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=args.timeout)
    sock.sendall(b"CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n")
    hdr = b""
    while b"\n\n" not in hdr and b"\r\n\r\n" not in hdr:
        b = sock.recv(1)
        if not b:
            raise SystemExit("connection closed during CONNECT")
        hdr += b
    status = hdr.split(b"\n", 1)[0].decode(errors="replace").strip()
    if " 200 " not in status + " ":
        print("CONNECT: " + status)
        sys.exit(1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(args.ca)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    tls = ctx.wrap_socket(sock, server_hostname=host)
    return tls, tls.makefile("rb")


def start(tls, rd, method):
    tls.sendall(method.encode() + b"\n")
    line = rd.readline()
    if line != b"\n":
        print("refused: " + line.decode(errors="replace").rstrip("\n"))
        sys.exit(1)


def send_json(tls, obj):
    tls.sendall(json.dumps(obj, separators=(",", ":")).encode() + b"\n")


def access(args):
    tls = rd = None
    for method in args.rest:
        if tls is None:
            tls, rd = dial(args)
        tls.sendall(method.encode() + b"\n")
        line = rd.readline()
        if line == b"\n":
            print(method + ": accepted", flush=True)
            tls.close()
            tls = None
        else:
            print(method + ": " + line.decode(errors="replace").rstrip("\n"), flush=True)


def session(args, tls, rd):
    import re
    method, req, sends = args.rest[0], args.rest[1], args.rest[2:]
    start(tls, rd, method)  # nothing follows the accept line: rd holds no bytes
    tls.sendall(req.encode() + b"\n")
    line = b""
    while not line.endswith(b"\n"):  # byte by byte: raw bytes may follow the reply
        b = tls.recv(1)
        if not b:
            break
        line += b
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
    for s in sends:
        tls.sendall(s.encode().decode("unicode_escape").encode("latin-1"))
    got, deadline = b"", time.time() + args.timeout
    pattern = re.compile(args.until.encode()) if args.until else None
    tls.settimeout(0.2)
    while time.time() < deadline and not (pattern and pattern.search(got)):
        try:
            d = tls.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        if not d:
            break
        got += d
        sys.stdout.buffer.write(d)
        sys.stdout.buffer.flush()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-c", "--cert")
    p.add_argument("-k", "--key")
    p.add_argument("--ca", required=True)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("addr")
    p.add_argument("cmd")
    p.add_argument("rest", nargs="*")
    p.add_argument("--bad-hash", action="store_true")
    p.add_argument("--until")
    args = p.parse_args()
    if args.cmd == "access":
        access(args)
        return
    tls, rd = dial(args)
    if args.cmd == "session":
        session(args, tls, rd)
    elif args.cmd == "call":
        start(tls, rd, args.rest[0])
        print("accepted")
    elif args.cmd == "list-images":
        start(tls, rd, "ImageServer.ListImages")
        while True:
            line = rd.readline()
            sys.stdout.write(repr(line.decode()) + "\n")
            if line in (b"\n", b""):
                break
    elif args.cmd == "list-dirs":
        start(tls, rd, "ImageServer.ListDirectories")
        while True:
            line = rd.readline()
            sys.stdout.write(line.decode())
            if not line or json.loads(line)["Name"] == "":
                break
    elif args.cmd in ("add-objects", "add-partial"):
        start(tls, rd, "ObjectServer.AddObjects")
        paths = args.rest[:1] if args.cmd == "add-partial" else args.rest
        for path in paths:
            data = open(path, "rb").read()
            h = hashlib.sha512(data).hexdigest()
            if args.bad_hash:
                h = hashlib.sha512(data + b"x").hexdigest()
            send_json(tls, {"Length": len(data), "ExpectedHash": h})
            if args.cmd == "add-partial":
                tls.sendall(data[: int(args.rest[1])])
                print("PARTIAL", flush=True)
                time.sleep(args.timeout)
                sys.exit(0)
            tls.sendall(data)
        send_json(tls, {"Length": 0, "ExpectedHash": None})
        for _ in paths:
            line = rd.readline()
            sys.stdout.write(line.decode())
            if not line or json.loads(line)["ErrorString"]:
                break
    elif args.cmd == "get-objects":
        outdir, hashes = args.rest[0], args.rest[1:]
        start(tls, rd, "ObjectServer.GetObjects")
        send_json(tls, {"Exclusive": False, "Hashes": hashes})
        line = rd.readline()
        sys.stdout.write(line.decode())
        reply = json.loads(line)
        if reply["ResponseString"]:
            sys.exit(1)
        for h, size in zip(hashes, reply["ObjectSizes"]):
            data = rd.read(size)
            if len(data) != size:
                print("short object " + h)
                sys.exit(1)
            with open(os.path.join(outdir, h), "wb") as f:
                f.write(data)
    elif args.cmd == "get-updates":
        start(tls, rd, "Hypervisor.GetUpdates")
        first = json.loads(rd.readline())
        print("first update: " + ",".join(sorted(first)), flush=True)
        tls.sendall(args.rest[0].encode() + b"\n")
        sys.stdout.write(rd.readline().decode())
        sys.stdout.flush()
        deadline = time.time() + args.timeout
        while not os.path.exists(args.rest[1]) and time.time() < deadline:
            time.sleep(0.1)
        tls.close()
        print("closed")
    else:
        p.print_usage()
        sys.exit(2)


if __name__ == "__main__":
    main()
