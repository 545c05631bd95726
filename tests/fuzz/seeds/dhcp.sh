#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/dhcp/ from real DHCP traffic: busybox udhcpc, ISC
# dhclient, ISC dhcrelay and ss-dhcp-probe (PXE, iPXE, HTTP boot, INFORM, RELEASE,
# DECLINE) talk to ss-netsvc in private namespaces while packet sockets on the
# bridge ports record every UDP payload to or from ports 67/68 (requests and the
# server's replies). The addresses match the fixture of tests/fuzz/fuzz_dhcp.c.
# Needs root, a built tree (make) and python3. Usage: bash tests/fuzz/seeds/dhcp.sh
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$top/tests/fuzz/corpus/dhcp
bin=$top/build/bin
id=ss9fz$$
H=${id}h BR=${id}br BR2=${id}b2 C=${id}c D=${id}d R=${id}r F=${id}f
MAC1=52:54:00:77:00:11 MAC2=52:54:00:77:00:12 MACD=52:54:00:78:00:01
MACNB=52:54:00:77:00:55 MAC4=52:54:00:79:00:44
tmp=$(mktemp -d /tmp/fuzzseed.XXXXXX)
cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  for ns in $H $C $D $R $F; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$out"

ip netns add "$H"
ip -n "$H" link set lo up
for b in "$BR:10.77.0.1/24" "$BR2:10.78.0.1/24"; do
  ip -n "$H" link add "${b%%:*}" type bridge
  ip -n "$H" addr add "${b#*:}" dev "${b%%:*}"
  ip -n "$H" link set "${b%%:*}" up
done
client() { # NS BRIDGE PORT MAC
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip -n "$H" link add "$3" type veth peer name eth0 netns "$1"
  ip -n "$H" link set "$3" master "$2" up
  ip -n "$1" link set eth0 address "$4" up
}
client "$C" "$BR" "${id}v1" $MAC1
client "$D" "$BR2" "${id}v2" $MACD
client "$R" "$BR" "${id}v3" 52:54:00:77:00:02
ip -n "$R" addr add 10.77.0.2/24 dev eth0
ip netns add "$F"
ip -n "$F" link set lo up
ip -n "$R" link add eth1 type veth peer name eth0 netns "$F"
ip -n "$R" addr add 10.79.0.1/24 dev eth1
ip -n "$R" link set eth1 up
ip -n "$F" link set eth0 address $MAC4 up
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
ip -n "$H" route add 10.79.0.0/24 via 10.77.0.2

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
for b in "${id}v1" "${id}v2" "${id}v3"; do
  ip netns exec "$H" python3 -u "$top/tests/fuzz/seeds/sniff.py" "$b" "$tmp/pkts-$b" 67 68 &
done
for _ in $(seq 100); do [ "$(find "$tmp" -maxdepth 1 -name "pkts-*" | wc -l)" = 3 ] && break; sleep 0.1; done
ip netns exec "$H" "$bin/ss-netsvc" -v "$tmp/cfg.json" >"$tmp/server.log" 2>&1 &
for _ in $(seq 50); do grep -q ready "$tmp/server.log" && break; sleep 0.1; done

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
  ip netns exec "$R" dhcrelay -4 -d -q -pf "$tmp/relay.pid" -id eth1 -iu eth0 10.77.0.1 \
    >/dev/null 2>&1 &
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
