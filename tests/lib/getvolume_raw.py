#!/usr/bin/env python3
"""getvolume_raw.py: Hypervisor.GetVmVolume with the bytes the Go client sends
(hypervisor/client getVmVolume + lib/rsync GetBlocks), to check the server's exchange:

  C->S  Hypervisor.GetVmVolume\\n
  S->C  \\n
  C->S  {"AccessToken":null,"GetExtraFiles":false,"IgnoreExtraFiles":false,
         "IpAddress":"IP","VolumeIndex":N}\\n                      (one line)
  S->C  {"Error":"",...}\\n                                 (GetVmVolumeResponse)
  C->S  {"BlockOrder":O,"NumBlocks":K}\\n                   (a separate write)
  C->S  K raw SHA-512 hashes of the client's blocks
  S->C  {"Error":"","Index":I,"Size":S}\\n + S bytes ... until a Block of Size 0

  getvolume_raw.py --cert C --key K --ca CA ADDR IP INDEX SIZE OUT [--have FILE]
        [--extra JSON] [--order N]
Prints the reply line, one "BLOCK <line>" per Block message as received, then calls
Hypervisor.GetVmInfo on the same connection and prints "NEXT <reply line>". OUT gets
the volume (starting from a copy of --have). Exit 0; 1 when the reply has an Error.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srpc_raw  # noqa: E402


def order_for(size):
    # lib/rsync getBlocks: sizeToOrder(totalBytes) >> 1, within [9, 32].
    order = (size.bit_length() - 1 if size else 0) >> 1
    return min(max(order, 9), 32)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca", required=True)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--have")
    p.add_argument("--extra", default="")
    p.add_argument("--order", type=int)
    p.add_argument("addr")
    p.add_argument("ip")
    p.add_argument("index", type=int)
    p.add_argument("size", type=int)
    p.add_argument("out")
    args = p.parse_args()

    tls, rd = srpc_raw.dial(args)
    srpc_raw.start(tls, rd, "Hypervisor.GetVmVolume")
    extra = json.loads(args.extra) if args.extra else {}
    req = ('{"AccessToken":null,"GetExtraFiles":%s,"IgnoreExtraFiles":%s,'
           '"IpAddress":"%s","VolumeIndex":%d}\n' % (
               "true" if extra.get("GetExtraFiles") else "false",
               "true" if extra.get("IgnoreExtraFiles") else "false",
               args.ip, args.index))
    tls.sendall(req.encode())
    reply = rd.readline()
    print(reply.decode(errors="replace").rstrip("\n"))
    if json.loads(reply).get("Error"):
        return 1

    have = b""
    if args.have:
        with open(args.have, "rb") as f:
            have = f.read()
        shutil.copyfile(args.have, args.out)
    else:
        open(args.out, "wb").close()
    order = args.order if args.order is not None else order_for(args.size)
    bs = 1 << order
    nblocks = len(have) >> order if 9 <= order <= 32 else 0
    tls.sendall(b'{"BlockOrder":%d,"NumBlocks":%d}\n' % (order, nblocks))
    hashes = b"".join(hashlib.sha512(have[i * bs:(i + 1) * bs]).digest()
                      for i in range(nblocks))
    if hashes:
        tls.sendall(hashes)
    with open(args.out, "r+b") as out:
        while True:
            line = rd.readline()
            if not line:
                print("EOF")
                return 1
            print("BLOCK " + line.decode(errors="replace").rstrip("\n"))
            block = json.loads(line)
            if block.get("Error") or block.get("Size", 0) == 0:
                break
            out.seek(block["Index"] << order)
            left = block["Size"]
            while left > 0:
                data = rd.read(min(left, 1 << 20))
                if not data:
                    print("EOF in block data")
                    return 1
                out.write(data)
                left -= len(data)
    tls.sendall(b"Hypervisor.GetVmInfo\n")
    accept = rd.readline()
    if accept != b"\n":
        print("NEXT refused: " + accept.decode(errors="replace").rstrip("\n"))
        return 1
    tls.sendall(('{"IpAddress":"%s"}\n' % args.ip).encode())
    line = rd.readline()  # request/response: "\n" (no error), then the reply
    if line == b"\n":
        line = rd.readline()
    print("NEXT " + line.decode(errors="replace").rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
