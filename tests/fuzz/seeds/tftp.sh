#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/tftp/ from real TFTP traffic: tftp-hpa (octet and
# netascii, a refused write), curl (blksize, tsize) and ss-tftpc (windowsize) talk to
# ss-netsvc in private namespaces while a packet socket on the client's bridge port
# records the datagrams both ways (requests, OACKs, errors, the first DATA and ACK
# packets). The namespaces are made by the helpers of the network-service tests
# (tests/lib/netsvc.sh) and removed at exit. Needs root, a built tree (make), python3,
# tftp-hpa and curl.
# Usage: bash tests/fuzz/seeds/tftp.sh [OUTDIR]   (default tests/fuzz/corpus/tftp)
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$top/tests/fuzz/corpus/tftp}
SS_BIN=$top/build/bin
bin=$SS_BIN
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/netsvc.sh"
H=${SS_ID}h BR=${SS_ID}br C=${SS_ID}c MAC=52:54:00:77:01:11
tmp=$(mktemp -d /tmp/fuzzseed.XXXXXX)
t_cleanup rm -rf "$tmp"
mkdir -p "$out" "$tmp/root/pxelinux.cfg"
printf 'DEFAULT x\nLABEL x\nKERNEL vmlinuz\nAPPEND initrd=initrd.img quiet\n' \
  >"$tmp/root/pxelinux.cfg/default"
printf 'line one\nline two\r\nend\n' >"$tmp/root/text.txt"
head -c 3000 /dev/urandom >"$tmp/root/small.bin"

nsv_host "$H" "$BR" 10.77.1.1/24
nsv_client "$C" "$H" "$BR" "${SS_ID}v1" $MAC
ip -n "$C" addr add 10.77.1.11/24 dev eth0
cat >"$tmp/cfg.json" <<EOF
{
  "tftp_root": "$tmp/root", "interfaces": ["$BR"], "http_port": 8069,
  "subnets": [{"Id": "lan", "IpGateway": "10.77.1.1", "IpMask": "255.255.255.0"}],
  "files": [{"ip": "10.77.1.11", "files": {"config.json": "{\"Hostname\": \"one\"}\n"}}]
}
EOF
nsv_bg sniff ip netns exec "$H" python3 -u "$top/tests/fuzz/seeds/sniff.py" "${SS_ID}v1" "$tmp/pkts"
for _ in $(seq 100); do [ -d "$tmp/pkts" ] && break; sleep 0.1; done
nsv_start "$H" "$tmp/cfg.json" "$tmp/server.log"

hpa() { ip netns exec "$C" tftp "$@" >/dev/null 2>&1 || true; }
cd "$tmp"
hpa -m binary 10.77.1.1 -c get pxelinux.cfg/default x1
hpa -m netascii 10.77.1.1 -c get text.txt x2
hpa -m binary 10.77.1.1 -c get /tftpboot/config.json x3
hpa -m binary 10.77.1.1 -c get ../etc/passwd x4
hpa -m binary 10.77.1.1 -c get missing.bin x5
hpa -m binary 10.77.1.1 -c put x1 upload.txt
ip netns exec "$C" curl -s --max-time 10 tftp://10.77.1.1/small.bin -o x6 || true
ip netns exec "$C" curl -s --max-time 10 --tftp-blksize 1428 tftp://10.77.1.1/small.bin -o x7 || true
ip netns exec "$C" "$bin/ss-tftpc" -b 1024 -w 4 -t -o x8 10.77.1.1 '\\pxelinux.cfg\\default' \
  >/dev/null 2>&1 || true
ip netns exec "$C" "$bin/ss-tftpc" -b 8 -w 64 -o x9 10.77.1.1 small.bin >/dev/null 2>&1 || true
sleep 0.5

# Distinct datagrams; of DATA and ACK only the first few (they are all alike).
rm -f "$out"/*
declare -A seen
for f in "$tmp"/pkts/*; do
  op=$(od -An -tu1 -j1 -N1 "$f" | tr -d ' ')
  name=$(case $op in 1) echo rrq ;; 2) echo wrq ;; 3) echo data ;; 4) echo ack ;;
    5) echo error ;; 6) echo oack ;; *) echo other ;; esac)
  seen[$name]=$((${seen[$name]:-0} + 1))
  case $name in data | ack) [ "${seen[$name]}" -le 4 ] || continue ;; esac
  cp "$f" "$out/$name-$(sha1sum "$f" | cut -c1-8)"
done
find "$out" -type f | wc -l
