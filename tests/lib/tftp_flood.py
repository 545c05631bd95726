#!/usr/bin/env python3
"""A hostile TFTP client (issue 17 #7): tftp_flood.py SERVER FILE COUNT HOLD

Sends COUNT RRQs (blksize 1468, windowsize 64, tsize) from one socket, with a short
pause every 20 so that most reach the server, and ACKs nothing; keeps the socket open
HOLD seconds (no ICMP errors end the transfers early), counting the transfers (server
ports) that answered and the ERRORs, then prints one line:
sent=N seconds=S transfers=N err_too_many=N err_busy=N err_other=N
"""
import select, socket, sys, time

server, name, count, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
rrq = (b"\0\1" + name.encode() + b"\0octet\0blksize\0" + b"1468\0windowsize\0" +
       b"64\0tsize\0" + b"0\0")
ports, errors = set(), {}

def drain(wait):
    while select.select([s], [], [], wait)[0]:
        wait = 0
        data, addr = s.recvfrom(65536)
        if data[:2] in (b"\0\3", b"\0\6"):  # DATA or OACK: a transfer holds a slot
            ports.add(addr[1])
        elif data[:2] == b"\0\5":
            msg = data[4:].split(b"\0")[0].decode(errors="replace")
            errors[msg] = errors.get(msg, 0) + 1

t0 = time.time()
for i in range(count):
    s.sendto(rrq, (server, 69))
    if i % 20 == 19:
        drain(0.001)
sent = time.time() - t0
end = time.time() + hold
while time.time() < end:
    drain(0.2)
busy = errors.get("server busy, try again", 0)
many = errors.get("too many transfers from this address", 0)
print("sent=%d seconds=%.2f transfers=%d err_too_many=%d err_busy=%d err_other=%d"
      % (count, sent, len(ports), many, busy, sum(errors.values()) - many - busy))
