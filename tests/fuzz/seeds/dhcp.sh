#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/dhcp/ from real DHCP traffic: busybox udhcpc, ISC
# dhclient, ISC dhcrelay and ss-dhcp-probe (PXE, iPXE, HTTP boot, INFORM, RELEASE,
# DECLINE) talk to ss-netsvc in private namespaces while packet sockets on the
# bridge ports record every UDP payload to or from ports 67/68 (requests and the
# server's replies). The addresses match the fixture of tests/fuzz/fuzz_dhcp.c; the
# namespaces are those of tests/integration/netsvc_dhcp.sh, made by the same helpers
# (tests/lib/netsvc.sh) and removed at exit.
# Needs root, a built tree (make) and python3.
# Usage: bash tests/fuzz/seeds/dhcp.sh [OUTDIR]   (default tests/fuzz/corpus/dhcp)
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-$top/tests/fuzz/corpus/dhcp}
SS_BIN=$top/build/bin
bin=$SS_BIN
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/netsvc.sh"
H=${SS_ID}h BR=${SS_ID}br BR2=${SS_ID}b2 C=${SS_ID}c D=${SS_ID}d R=${SS_ID}r F=${SS_ID}f
MAC1=52:54:00:77:00:11 MAC2=52:54:00:77:00:12 MACD=52:54:00:78:00:01
MACNB=52:54:00:77:00:55 MAC4=52:54:00:79:00:44
tmp=$(mktemp -d /tmp/fuzzseed.XXXXXX)
t_cleanup rm -rf "$tmp"
mkdir -p "$out"

nsv_host "$H" "$BR" 10.77.0.1/24
nsv_bridge "$H" "$BR2" 10.78.0.1/24
nsv_client "$C" "$H" "$BR" "${SS_ID}v1" $MAC1
nsv_client "$D" "$H" "$BR2" "${SS_ID}v2" $MACD
nsv_client "$R" "$H" "$BR" "${SS_ID}v3" 52:54:00:77:00:02
ip -n "$R" addr add 10.77.0.2/24 dev eth0
nsv_routed "$F" "$R" $MAC4 10.79.0.1/24 "$H" 10.77.0.2

cat >"$tmp/cfg.json" <<EOF
{
  "state_dir": "$tmp", "interfaces": ["$BR", "$BR2"], "http_port": 8067, "no_tftp": true,
  "subnets": [
    {"Id": "lan", "IpGateway": "10.77.0.1", "IpMask": "255.255.255.0",
     "DomainName": "lan.example", "DomainNameServers": ["10.77.0.53", "10.77.0.54"]},
    {"Id": "dyn", "IpGateway": "10.78.0.1", "IpMask": "255.255.255.0",
     "DomainNameServers": ["10.78.0.1"],
     "FirstDynamicIP": "10.78.0.100", "LastDynamicIP": "10.78.0.110"},
    {"Id": "remote", "IpGateway": "10.79.0.1", "IpMask": "255.255.255.0",
     "DomainNameServers": ["10.77.0.53"]}
  ],
  "leases": [
    {"mac": "$MAC1", "ip": "10.77.0.11", "hostname": "vm-one"},
    {"mac": "$MAC2", "ip": "10.77.0.12", "hostname": "vm-two"},
    {"mac": "$MAC4", "ip": "10.79.0.44", "hostname": "far", "kind": "external"},
    {"mac": "$MACNB", "ip": "10.77.0.55", "kind": "netboot"}
  ]
}
EOF

# The recorder: one file per UDP payload crossing a bridge port (both directions).
for i in 1 2 3; do
  nsv_bg "sniff$i" ip netns exec "$H" python3 -u "$top/tests/fuzz/seeds/sniff.py" "${SS_ID}v$i" "$tmp/pkts-v$i" 67 68
done
for _ in $(seq 100); do [ "$(find "$tmp" -maxdepth 1 -name "pkts-*" | wc -l)" = 3 ] && break; sleep 0.1; done
nsv_start "$H" "$tmp/cfg.json" "$tmp/server.log"

ud() { ip netns exec "$1" udhcpc -i eth0 -f -q -n -t 2 -T 1 -s /bin/true "${@:2}" >/dev/null 2>&1 || true; }
probe() { ip netns exec "$1" "$bin/ss-dhcp-probe" "${@:2}" >/dev/null 2>&1 || true; }
ud "$C"
ud "$C" -V PXEClient:Arch:00007:UNDI:003016 -x 0x5d:0007 -x 0x61:00112233445566778899aabbccddeeff00 -O 66 -O 67
ud "$D" -x hostname:laptop -F laptop.example
ud "$D" -R -r 10.78.0.100
timeout 8 ip netns exec "$C" dhclient -d -1 -4 -lf "$tmp/dh.leases" -pf "$tmp/dh.pid" \
  -sf /bin/true eth0 >/dev/null 2>&1 || true
probe "$C" -i eth0 -m $MACNB -V PXEClient:Arch:00000:UNDI:002001 -a 0
probe "$C" -i eth0 -m $MACNB -V PXEClient:Arch:00000:UNDI:002001 -U iPXE
probe "$C" -i eth0 -m $MACNB -V HTTPClient:Arch:00016:UNDI:003001 -a 16
probe "$D" -i eth0 -m 52:54:00:78:00:99 -t request -r 10.78.0.105
probe "$D" -i eth0 -m 52:54:00:78:00:99 -t inform -c 10.78.0.77 -B
probe "$D" -i eth0 -m $MACD -t decline -r 10.78.0.101 -S 10.78.0.1 -w 300
probe "$D" -i eth0 -m $MACD -t release -c 10.78.0.100 -S 10.78.0.1 -w 0
probe "$R" -d 10.77.0.1 -l 67 -g 10.79.0.1 -m $MAC4
if command -v dhcrelay >/dev/null; then
  nsv_bg relay ip netns exec "$R" dhcrelay -4 -d -q -pf "$tmp/relay.pid" -id eth1 -iu eth0 10.77.0.1 \
    >/dev/null 2>&1
  sleep 1
  ud "$F"
fi
sleep 0.5

# Keep distinct payloads only; name them by who sent them and the message type.
rm -f "$out"/*
for f in "$tmp"/pkts-*/*; do
  op=$(od -An -tu1 -N1 "$f" | tr -d ' ')
  type=$(python3 - "$f" <<'EOF'
import sys
b = open(sys.argv[1], "rb").read()
i = 240
names = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak",
         7: "release", 8: "inform"}
while i + 1 < len(b) and b[i] != 255:
    if b[i] == 0:
        i += 1
        continue
    if b[i] == 53:
        print(names.get(b[i + 2], "type%d" % b[i + 2]))
        break
    i += 2 + b[i + 1]
else:
    print("bootp")
EOF
)
  sum=$(sha1sum "$f" | cut -c1-8)
  cp "$f" "$out/$([ "$op" = 1 ] && echo client || echo server)-$type-$sum"
done
find "$out" -type f | wc -l
