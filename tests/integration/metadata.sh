# timeout: 180
# shellcheck shell=bash
# Metadata service end to end, in private namespaces: ss-metadatad serves a bridge with
# three "VMs" (namespaces behind veth "taps"), an uplink to an "outside" namespace on the
# same L2 segment and a routed interface to another one. Checks that each VM gets its own
# data and nothing else, that spoofing a neighbour's IP or MAC gets nothing (and would
# have worked without our rules), that link-local traffic never leaves the host, that
# routes follow subnet changes, that hostile requests (proxy headers, a foreign or a
# second Host, %00 in the path) are refused, and that the daemon touches no table but
# its own.
set -eu
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/metadata.sh"
t_require nft "nftables is needed for the rules"
t_require curl "curl is the VMs' HTTP client"
t_require busybox "busybox ping probes link-local reachability"

bin=$SS_BIN/ss-metadatad
H=${SS_ID}h BR=${SS_ID}br
V1=${SS_ID}v1 V2=${SS_ID}v2 V3=${SS_ID}v3 OUT=${SS_ID}o RT=${SS_ID}x
MAC1=52:54:00:99:00:11 MAC2=52:54:00:99:00:12 MAC3=52:54:00:99:00:13
tmp=$(mktemp -d "/tmp/${SS_ID}md.XXXXXX")
t_cleanup rm -rf "$tmp"

# ---- topology ----
ip netns add "$H"
t_cleanup ip netns del "$H"
ip -n "$H" link set lo up
ip -n "$H" link add "$BR" type bridge
ip -n "$H" addr add 10.199.0.1/24 dev "$BR"
ip -n "$H" link set "$BR" up
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
md_vm_add "$H" "$V1" "${SS_ID}t1" "$BR" $MAC1 10.199.0.11/24 10.199.0.1
md_vm_add "$H" "$V2" "${SS_ID}t2" "$BR" $MAC2 10.199.0.12/24 10.199.0.1
md_vm_add "$H" "$V3" "${SS_ID}t3" "$BR" $MAC3 10.199.0.13/24 10.199.0.1
# VM2 reaches link-local on-link (ARP); VM1 through its gateway (MAC rewrite).
ip -n "$V2" route replace 169.254.0.0/16 dev eth0
# Outside on the same L2 segment, through an uplink port of the bridge.
ip netns add "$OUT"
t_cleanup ip netns del "$OUT"
ip -n "$H" link add "${SS_ID}up" type veth peer name eth0 netns "$OUT"
ip -n "$H" link set "${SS_ID}up" master "$BR" up
ip -n "$OUT" addr add 169.254.1.1/16 dev eth0
ip -n "$OUT" link set eth0 up
ip -n "$OUT" route add 10.199.0.0/24 dev eth0
# Outside behind a routed, non-bridge interface of the host.
ip netns add "$RT"
t_cleanup ip netns del "$RT"
ip -n "$H" link add "${SS_ID}w" type veth peer name eth0 netns "$RT"
ip -n "$H" addr add 169.254.2.2/24 dev "${SS_ID}w"
ip -n "$H" link set "${SS_ID}w" up
ip -n "$RT" addr add 169.254.2.1/24 dev eth0
ip -n "$RT" link set eth0 up
ip -n "$RT" route add 10.199.0.0/24 via 169.254.2.2

# ---- VM files and configuration ----
mkdir -p "$tmp/vm1" "$tmp/vm2"
printf '#cloud-config\nhostname: one\n' >"$tmp/vm1/user-data.raw"
printf 'user data of two\n' >"$tmp/vm2/user-data.raw"
printf -- '-----BEGIN CERTIFICATE-----\nVM1\n' >"$tmp/vm1/identity.cert"
vm_json() { # IP MAC HOSTNAME
  printf '{"Address": {"IpAddress": "%s", "MacAddress": "%s"}, "Hostname": "%s",' "$1" "$2" "$3"
  printf ' "MemoryInMiB": 512, "MilliCPUs": 1000, "State": "running",'
  printf ' "CreatedOn": "2024-05-01T09:59:50Z", "Tags": {"Name": "%s"}}' "$3"
}
# write_config SUBNETS_JSON WITH_VM2(0|1) [BRIDGES_JSON]
write_config() {
  local vms
  vms="{\"Tap\": \"${SS_ID}t1\", \"Bridge\": \"$BR\", \"Dir\": \"$tmp/vm1\", \"Info\": $(vm_json 10.199.0.11 $MAC1 one)}"
  if [ "$2" = 1 ]; then
    vms="$vms, {\"Tap\": \"${SS_ID}t2\", \"Bridge\": \"$BR\", \"Dir\": \"$tmp/vm2\", \"Info\": $(vm_json 10.199.0.12 $MAC2 two)}"
  fi
  cat >"$tmp/conf.json~" <<EOF
{"Bridges": ${3:-[\"$BR\"]}, "Subnets": $1, "Vms": [$vms],
 "Taps": [{"Tap": "${SS_ID}t3", "Bridge": "$BR", "MacAddress": "$MAC3", "IpAddress": "10.199.0.13"}]}
EOF
  mv "$tmp/conf.json~" "$tmp/conf.json"
}
subnets_normal='[{"Id": "a", "IpGateway": "10.199.0.1", "IpMask": "255.255.255.0"},
  {"Id": "b", "IpGateway": "10.198.0.1", "IpMask": "255.255.255.0"},
  {"Id": "c", "IpGateway": "10.197.0.1", "IpMask": "255.255.0.0", "DisableMetadata": true}]'
subnets_changed='[{"Id": "a", "IpGateway": "10.199.0.1", "IpMask": "255.255.255.0", "DisableMetadata": true},
  {"Id": "c", "IpGateway": "10.197.0.1", "IpMask": "255.255.0.0"}]'
write_config "$subnets_normal" 1

# ---- before the daemon: the leak paths really work (controls) ----
t_check "control: link-local reaches the routed outside without our rules" md_ping "$V1" 169.254.2.1
t_check "control: link-local reaches the uplink outside without our rules" md_ping "$V2" 169.254.1.1

# Somebody else's rules: an nftables table of each family, and the tables ebtables-nft
# keeps (bridge filter / nat), which the original's `ebtables -F` wiped.
for fam in bridge inet; do
  ip netns exec "$H" nft -f - <<EOF
table $fam ${SS_ID}foreign {
	chain c {
		type filter hook forward priority 0; policy accept;
		counter comment "foreign-$fam-rule"
	}
}
EOF
done
ip netns exec "$H" nft -f - <<EOF
table bridge filter {
	chain FORWARD {
		type filter hook forward priority filter; policy accept;
		ether type ip counter comment "ebtables-filter-rule"
	}
}
table bridge nat {
	chain PREROUTING {
		type filter hook prerouting priority dstnat; policy accept;
		ether type arp counter comment "ebtables-nat-rule"
	}
}
EOF

# A stand-in for the hypervisor's port 6976 in the host namespace.
port=$((20000 + $$ % 10000))
ip netns exec "$H" socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" \
  SYSTEM:'echo hypervisor-port-ok' &
socat_pid=$!
t_cleanup kill "$socat_pid"

# ---- start ----
start_daemon() {
  rm -f "$tmp/ready"
  ip netns exec "$H" "$bin" -config="$tmp/conf.json" -readyFile="$tmp/ready" -trace \
    -rpcRelay="127.0.0.1:$port" 2>>"$tmp/log" &
  pid=$!
  t_cleanup kill "$pid"
}
start_daemon
if md_wait_ready "$tmp/ready" 1 "$pid"; then
  t_ok "ss-metadatad starts"
else
  t_fail "ss-metadatad starts" "$(tail -5 "$tmp/log" | tr '\n' ' ')"
  exit 0
fi
gen=1
reload() { # waits for the next generation
  gen=$((gen + 1))
  kill -HUP "$pid"
  md_wait_ready "$tmp/ready" "$gen" "$pid"
}

t_check "own bridge table installed" ip netns exec "$H" nft list table bridge smallstack
t_check "own inet table installed" ip netns exec "$H" nft list table inet smallstack
veth=$(ip -n "$H" -o link show master "$BR" | grep -o 'mdv[0-9a-f]\{8\}' | head -1 || true)
t_expect "metadata veth is a bridge port with the mapping in its alias" \
  "alias smallstack-metadata $BR" ip -n "$H" -d link show "${veth:-none}"

# ---- each VM gets its own data ----
md_expect "VM1 identity document" "$V1" /latest/dynamic/instance-identity/document 200 \
  '"IpAddress": "10\.199\.0\.11"'
md_expect "VM1 user-data" "$V1" /latest/user-data 200 $'=#cloud-config\nhostname: one'
md_expect "VM1 listing /" "$V1" / 200 $'=datasource\nlatest'
md_expect "VM1 listing /latest/" "$V1" /latest/ 200 \
  $'=dynamic\nis-externally-patchable\nmeta-data\nuser-data'
md_expect "VM1 listing /*" "$V1" '/*' 200 '^latest/dynamic/instance-identity/X\.509-certificate$'
md_expect "VM1 X.509 certificate" "$V1" /latest/dynamic/instance-identity/X.509-certificate 200 '^VM1$'
md_expect "VM1 absent identity key is 404" "$V1" /latest/dynamic/instance-identity/X.509-key 404
md_expect "VM1 datasource marker" "$V1" /datasource/SmallStack 200 '=true'
md_expect "VM1 epoch-time" "$V1" /latest/dynamic/epoch-time 200 '^[0-9]{10,}\.[0-9]{9}$'
md_expect "VM1 AWS meta-data listing" "$V1" /latest/meta-data/ 200 '^network/$'
md_expect "VM1 AWS local-ipv4" "$V1" /latest/meta-data/local-ipv4 200 '=10.199.0.11'
md_expect "VM1 AWS mac" "$V1" /latest/meta-data/mac 200 "=$MAC1"
md_expect "VM1 AWS hostname" "$V1" /latest/meta-data/hostname 200 '=one'
md_expect "VM2 (on-link ARP path) gets its own document" "$V2" \
  /latest/dynamic/instance-identity/document 200 '"IpAddress": "10\.199\.0\.12"'
md_expect "VM2 gets its own user-data" "$V2" /latest/user-data 200 '=user data of two'
md_expect "unknown source (VM3: tap known, no VM record) gets 404" "$V3" /latest/user-data 404
md_expect "unknown source gets no listing either" "$V3" / 404
md_expect "request with X-Forwarded-For is refused" "$V1" /latest/user-data 403 '' \
  -H 'X-Forwarded-For: 10.199.0.12'
md_expect "request with a foreign Host is refused" "$V1" /latest/user-data 403 '' \
  -H 'Host: attacker.example'
md_expect "POST is refused" "$V1" /latest/user-data 405 '' -X POST
# Issue 17: "%00" cut the path, so this was the user data; a second Host was ignored.
md_expect "a path with %00 is refused with 400" "$V1" '/latest/user-data%00.txt' 400 '' --path-as-is
t_check "...and is not answered with the user data" test "$MD_BODY" = ""
md_expect "a path with another decoded control byte (%0a) is refused with 400" "$V1" \
  '/latest/user-data%0a' 400 '' --path-as-is
md_expect "an escaped path without control bytes is still served" "$V1" \
  '/latest/user-%64ata' 200 $'=#cloud-config\nhostname: one'
two_hosts='GET /latest/user-data HTTP/1.1\r\nHost: 169.254.169.254\r\nHost: attacker.example\r\n'
two_hosts="${two_hosts}Connection: close\r\n\r\n"
out=$(md_raw "$V1" "$two_hosts")
t_expect "a request with two Host headers is refused with 400" '^HTTP/1\.[01] 400' echo "$out"
no_user_data() { ! grep -q cloud-config <<<"$1"; }
t_check "...and is not answered with the user data" no_user_data "$out"
t_expect "one Host header is served (control)" 'cloud-config' md_raw "$V1" \
  'GET /latest/user-data HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n'
t_expect "TraceVmMetadata hook sees (ip, path)" "^trace 10\.199\.0\.11 /latest/user-data$" \
  cat "$tmp/log"
t_expect "hypervisor port 6976 reachable at 169.254.169.254 from a VM" hypervisor-port-ok \
  ip netns exec "$V1" timeout 3 bash -c 'exec 3<>/dev/tcp/169.254.169.254/6976; cat <&3'

# ---- link-local never leaves the host ----
if md_ping "$V1" 169.254.2.1; then
  t_fail "link-local does not leave through a routed non-bridge interface"
else
  t_ok "link-local does not leave through a routed non-bridge interface"
fi
if md_ping "$V2" 169.254.1.1; then
  t_fail "link-local does not leave through the bridge's uplink"
else
  t_ok "link-local does not leave through the bridge's uplink"
fi
md_expect "the uplink side cannot reach the metadata server" "$OUT" / 000
ip -n "$OUT" addr add 10.199.0.11/24 dev eth0
md_expect "the uplink side spoofing VM1's IP gets nothing" "$OUT" /latest/user-data 000
ip -n "$OUT" addr del 10.199.0.11/24 dev eth0

# ---- spoofing a neighbour ----
mdns=$(md_ns_of "$pid" || true)
flush_neigh() { [ -n "$mdns" ] && nsenter --net="$mdns" ip neigh flush all; }
# VM1 goes quiet and the namespace forgets its MAC, so that without our rules the
# spoofer's ARP answer would be believed and it would get VM1's data.
ip -n "$V1" link set eth0 down
flush_neigh
ip -n "$V2" addr flush dev eth0
ip -n "$V2" addr add 10.199.0.11/24 dev eth0
ip -n "$V2" route replace default via 10.199.0.1
ip -n "$V2" route replace 169.254.0.0/16 dev eth0
md_expect "VM2 spoofing VM1's IP gets nothing" "$V2" /latest/user-data 000
# Control: with VM2's tap out of the checked set the same spoof succeeds, so the test
# can fail.
ip netns exec "$H" nft delete element bridge smallstack vm_taps "{ \"${SS_ID}t2\" }" || true
flush_neigh
ip -n "$V2" neigh flush all
# The earlier refused attempts can leave a neighbour entry failed on either side; give
# the resolution a few tries before the case that asserts the spoof now works.
for _ in 1 2 3; do
  md_get "$V2" /latest/user-data
  [ "$MD_CODE" = 200 ] && break
  sleep 1
done
md_expect "control: without VM2's tap rules the IP spoof would read VM1's data" "$V2" \
  /latest/user-data 200 '^hostname: one$'
if reload; then t_ok "reload restores the tap rules"; else t_fail "reload restores the tap rules"; fi
flush_neigh
md_expect "VM2 spoofing VM1's IP gets nothing after reload" "$V2" /latest/user-data 000
# MAC spoofing: VM1's MAC with VM2's own IP, then with VM1's IP as well.
ip -n "$V2" addr flush dev eth0
ip -n "$V2" addr add 10.199.0.12/24 dev eth0
ip -n "$V2" route replace default via 10.199.0.1
ip -n "$V2" route replace 169.254.0.0/16 dev eth0
ip -n "$V2" link set eth0 address $MAC1
flush_neigh
md_expect "VM2 spoofing VM1's MAC gets nothing" "$V2" /latest/user-data 000
ip -n "$V2" addr flush dev eth0
ip -n "$V2" addr add 10.199.0.11/24 dev eth0
ip -n "$V2" route replace default via 10.199.0.1
flush_neigh
md_expect "VM2 spoofing VM1's MAC and IP gets nothing" "$V2" /latest/user-data 000
# Back to normal.
ip -n "$V2" link set eth0 address $MAC2
ip -n "$V2" addr flush dev eth0
ip -n "$V2" addr add 10.199.0.12/24 dev eth0
ip -n "$V2" route replace default via 10.199.0.1
ip -n "$V2" route replace 169.254.0.0/16 dev eth0
ip -n "$V1" link set eth0 up
ip -n "$V1" route replace default via 10.199.0.1
flush_neigh
md_expect "VM2 with its own IP and MAC gets its own data again" "$V2" /latest/user-data 200 \
  '=user data of two'
md_expect "VM1 gets its own data again" "$V1" /latest/user-data 200 '^hostname: one$'

# ---- routes follow subnet changes (weaknesses #15) ----
routes() { nsenter --net="$mdns" ip -4 route show | awk '{print $1}' | sort | tr '\n' ' '; }
t_expect "namespace routes: subnets without DisableMetadata" '^10\.198\.0\.0/24 10\.199\.0\.0/24 $' routes
write_config "$subnets_changed" 1
if reload; then t_ok "reload with changed subnets"; else t_fail "reload with changed subnets"; fi
t_expect "namespace routes follow changes and deletions" '^10\.197\.0\.0/16 $' routes
md_expect "VM1 in a subnet now without metadata gets nothing" "$V1" /latest/user-data 000
write_config "$subnets_normal" 1
reload || true
t_expect "namespace routes restored" '^10\.198\.0\.0/24 10\.199\.0\.0/24 $' routes
md_expect "VM1 served again once its subnet has metadata" "$V1" /latest/user-data 200 '^hostname: one$'

# ---- a bridge stops being served, then is served again ----
write_config "$subnets_normal" 1 '[]'
reload || true
if ip -n "$H" link show "${veth:-none}" >/dev/null 2>&1; then
  t_fail "bridge no longer served: its veth is gone"
else
  t_ok "bridge no longer served: its veth is gone"
fi
md_expect "bridge no longer served: VM1 gets nothing" "$V1" /latest/user-data 000
write_config "$subnets_normal" 1
reload || true
t_check "bridge served again: same veth name" ip -n "$H" link show "${veth:-none}"
md_expect "bridge served again: VM1 gets its data" "$V1" /latest/user-data 200 '^hostname: one$'
t_expect "bridge served again: hypervisor port too" hypervisor-port-ok \
  ip netns exec "$V1" timeout 3 bash -c 'exec 3<>/dev/tcp/169.254.169.254/6976; cat <&3'
mdns=$(md_ns_of "$pid" || true)

# ---- a VM goes away: its tap rules go too ----
write_config "$subnets_normal" 0
reload || true
if ip netns exec "$H" nft list table bridge smallstack | grep -q "\"${SS_ID}t2\""; then
  t_fail "removed VM's tap rules are gone"
else
  t_ok "removed VM's tap rules are gone"
fi
md_expect "removed VM gets nothing" "$V2" /latest/user-data 000

# ---- stop: only our own tables go ----
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
t_check "ss-metadatad stops cleanly (exit 0)" test "$rc" = 0
if ip netns exec "$H" nft list table bridge smallstack >/dev/null 2>&1 ||
  ip netns exec "$H" nft list table inet smallstack >/dev/null 2>&1; then
  t_fail "own tables removed at stop"
else
  t_ok "own tables removed at stop"
fi
if ip -n "$H" link show "${veth:-none}" >/dev/null 2>&1; then
  t_fail "metadata veth removed at stop"
else
  t_ok "metadata veth removed at stop"
fi
t_expect "foreign bridge table and rule survive start and stop" foreign-bridge-rule \
  ip netns exec "$H" nft list table bridge "${SS_ID}foreign"
t_expect "foreign inet table and rule survive start and stop" foreign-inet-rule \
  ip netns exec "$H" nft list table inet "${SS_ID}foreign"
t_expect "ebtables-style filter table and rule survive" ebtables-filter-rule \
  ip netns exec "$H" nft list table bridge filter
t_expect "ebtables-style nat table and rule survive" ebtables-nat-rule \
  ip netns exec "$H" nft list table bridge nat

# ---- a crash leaves stale tables: the next start replaces them ----
start_daemon
if md_wait_ready "$tmp/ready" 1 "$pid"; then
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  t_check "after a crash the stale table is still there" \
    ip netns exec "$H" nft list table bridge smallstack
  start_daemon
  if md_wait_ready "$tmp/ready" 1 "$pid"; then
    md_expect "restart after a crash serves again" "$V1" /latest/user-data 200 '^hostname: one$'
  else
    t_fail "restart after a crash serves again" "$(tail -3 "$tmp/log" | tr '\n' ' ')"
  fi
  kill -TERM "$pid"
  wait "$pid" || true
  if ip netns exec "$H" nft list table bridge smallstack >/dev/null 2>&1; then
    t_fail "tables removed after the restart's stop"
  else
    t_ok "tables removed after the restart's stop"
  fi
else
  t_fail "second start" "$(tail -3 "$tmp/log" | tr '\n' ' ')"
fi
if grep -qE "ERROR: [A-Za-z]+Sanitizer|runtime error" "$tmp/log"; then
  t_fail "no sanitizer reports" "$(grep -m3 "ERROR\|runtime error" "$tmp/log" | tr '\n' ' ')"
else
  t_ok "no sanitizer reports"
fi
