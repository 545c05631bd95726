# Records every UDP payload crossing one interface (both directions) whose source or
# destination port is listed (every UDP datagram when none is): one file per datagram
# in DIR, numbered in arrival order. Used by the seed scripts.
# Usage: python3 sniff.py IFACE DIR [PORT...]
import os
import socket
import struct
import sys

iface, outdir, ports = sys.argv[1], sys.argv[2], {int(p) for p in sys.argv[3:]}
# ETH_P_ALL: a bridge port hands frames of a specific protocol to the bridge first.
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
os.makedirs(outdir, exist_ok=True)
n = 0
while True:
    f = s.recv(65535)
    ip = f[14:]
    if f[12:14] != b"\x08\x00" or len(ip) < 28 or ip[9] != 17:
        continue
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    if ports and not {sport, dport} & ports:
        continue
    n += 1
    with open("%s/%05d" % (outdir, n), "wb") as o:
        o.write(ip[ihl + 8:])
