# timeout: 150
# shellcheck shell=bash
# DHCP server of the network services (ss-netsvc), in private namespaces, with real
# clients: busybox udhcpc and ISC dhclient get their static leases and options; an
# unknown MAC gets nothing; a dynamic range hands out, persists and reloads leases,
# NAKs requests for addresses it never gave (weakness #28), takes RELEASE and INFORM;
# a relay (ISC dhcrelay, and a hand-made packet with giaddr) gets answers through
# giaddr; PXE/iPXE/HTTP-boot clients get their boot files; malformed packets are
# counted and change nothing.
set -eu
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/netsvc.sh"
t_require udhcpc "busybox udhcpc is a DHCP client under test"
t_require jq "reads the server's /status"

probe=$SS_BIN/ss-dhcp-probe
H=${SS_ID}s BR=${SS_ID}br BR2=${SS_ID}b2
C1=${SS_ID}c1 C2=${SS_ID}c2 C3=${SS_ID}c3 D1=${SS_ID}d1 D2=${SS_ID}d2 R=${SS_ID}r C4=${SS_ID}c4 P=${SS_ID}p
MAC1=52:54:00:77:00:11 MAC2=52:54:00:77:00:12 MAC3=52:54:00:77:00:13
MACD=52:54:00:78:00:01 MACD2=52:54:00:78:00:02 MAC4=52:54:00:79:00:44 MACNB=52:54:00:77:00:55
tmp=$(mktemp -d "/tmp/${SS_ID}dhcp.XXXXXX")
t_cleanup rm -rf "$tmp"

# ---- topology: host with two bridges, clients, a relay with a network behind it ----
nsv_host "$H" "$BR" 10.77.0.1/24
nsv_bridge "$H" "$BR2" 10.78.0.1/24
nsv_client "$C1" "$H" "$BR" "${SS_ID}v1" $MAC1
nsv_client "$C2" "$H" "$BR" "${SS_ID}v2" $MAC2
nsv_client "$C3" "$H" "$BR" "${SS_ID}v3" $MAC3
nsv_client "$D1" "$H" "$BR2" "${SS_ID}v4" $MACD
nsv_client "$D2" "$H" "$BR2" "${SS_ID}v7" $MACD2
nsv_client "$P" "$H" "$BR" "${SS_ID}v5" $MACNB
nsv_client "$R" "$H" "$BR" "${SS_ID}v6" 52:54:00:77:00:02
ip -n "$R" addr add 10.77.0.2/24 dev eth0
nsv_routed "$C4" "$R" $MAC4 10.79.0.1/24 "$H" 10.77.0.2

cat >"$tmp/cfg.json" <<EOF
{
  "state_dir": "$tmp",
  "interfaces": ["$BR", "$BR2"],
  "http_port": 8067,
  "no_tftp": true,
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
nsv_start "$H" "$tmp/cfg.json" "$tmp/server.log"

# udhcpc: its script records what it was given.
cat >"$tmp/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] || exit 0
env | grep -E '^(ip|subnet|router|dns|domain|hostname|lease|serverid)=' | sort >"$UDHCPC_OUT"
EOF
chmod +x "$tmp/udhcpc.sh"
udhcpc_get() { # NS OUT [extra args]
	local ns=$1 out=$2
	shift 2
	UDHCPC_OUT=$out ip netns exec "$ns" udhcpc -i eth0 -f -q -n -t 3 -T 1 -s "$tmp/udhcpc.sh" "$@" >>"$tmp/udhcpc.log" 2>&1
}

# ---- udhcpc: static lease with every option ----
if udhcpc_get "$C1" "$tmp/c1.env"; then
	want="dns=10.77.0.53 10.77.0.54 domain=lan.example hostname=vm-one ip=10.77.0.11 lease=172800 router=10.77.0.1 serverid=10.77.0.1 subnet=255.255.255.0"
	got=$(tr '\n' ' ' <"$tmp/c1.env" | sed 's/ $//')
	if [ "$got" = "$want" ]; then
		t_ok "udhcpc gets its static lease and options"
	else
		t_fail "udhcpc gets its static lease and options" "got: $got"
	fi
else
	t_fail "udhcpc gets its static lease and options" "no lease: $(tail -3 "$tmp/udhcpc.log")"
fi

# ---- dhclient ----
if command -v dhclient >/dev/null; then
	cat >"$tmp/dhclient.sh" <<EOF
#!/bin/sh
case "\$reason" in BOUND|REBOOT)
	echo "ip=\$new_ip_address mask=\$new_subnet_mask routers=\$new_routers dns=\$new_domain_name_servers domain=\$new_domain_name host=\$new_host_name lease=\$new_dhcp_lease_time" >"$tmp/c2.env" ;;
esac
exit 0
EOF
	chmod +x "$tmp/dhclient.sh"
	# Foreground (-d) so that it cannot outlive the test.
	nsv_bg dhclient ip netns exec "$C2" dhclient -d -1 -4 -lf "$tmp/c2.leases" -pf "$tmp/c2.pid" \
		-sf "$tmp/dhclient.sh" eth0 >"$tmp/dhclient.log" 2>&1
	for _ in $(seq 100); do [ -s "$tmp/c2.env" ] && break; sleep 0.1; done
	nsv_kill "${NSV_BG_dhclient:?}"
	t_expect "dhclient gets its static lease and options" \
		"^ip=10.77.0.12 mask=255.255.255.0 routers=10.77.0.1 dns=10.77.0.53 10.77.0.54 domain=lan.example host=vm-two lease=172800$" \
		cat "$tmp/c2.env"
else
	t_skip "dhclient gets its static lease and options" "isc-dhcp-client not installed"
fi

# ---- an unknown MAC on a link without a dynamic range: silence ----
if udhcpc_get "$C3" "$tmp/c3.env"; then
	t_fail "an unknown MAC gets no answer" "it got: $(cat "$tmp/c3.env")"
else
	t_expect "an unknown MAC gets no answer" "DISCOVER from $MAC3 on $BR dropped: unknown MAC" cat "$tmp/server.log"
fi
t_check "an unknown MAC's INIT-REBOOT request stays unanswered (another server may own it)" \
	bash -c "! ip netns exec $C3 $probe -i eth0 -m $MAC3 -t request -r 10.77.0.99 -w 800"

# ---- dynamic range: lease, persistence, reload ----
udhcpc_get "$D1" "$tmp/d1.env" -x hostname:laptop || true
t_expect "an unknown MAC on a dynamic subnet gets the first free address" \
	"^ip=10.78.0.100$" grep '^ip=' "$tmp/d1.env"
t_expect "the ACK was journaled (and synced) before it was sent" '"IpAddress": *"10.78.0.100"' \
	cat "$tmp/dynamic-leases.journal"
nsv_stop
t_expect "a clean stop folds the journal into dynamic-leases.json" \
	'"ClientHostName": "laptop",.*"IpAddress": "10.78.0.100", *"MacAddress": "52:54:00:78:00:01"' \
	bash -c "tr -d '\n' <'$tmp/dynamic-leases.json' || true"
t_check "... and removes the journal" test ! -e "$tmp/dynamic-leases.journal"
nsv_start "$H" "$tmp/cfg.json" "$tmp/server2.log"
t_expect "a restarted server reloads the dynamic lease" "loaded 1 dynamic leases" cat "$tmp/server2.log"
udhcpc_get "$D1" "$tmp/d1b.env" || true
t_expect "the same MAC gets the same address after the restart" "^ip=10.78.0.100$" grep '^ip=' "$tmp/d1b.env"
# A crash right after an ACK (no snapshot yet): the journal alone brings it back.
udhcpc_get "$D2" "$tmp/d2.env" || true
kill -9 "$NSV_PID"
wait "$NSV_PID" 2>/dev/null || true
t_expect "a second dynamic client got the next address" "^ip=10.78.0.101$" grep '^ip=' "$tmp/d2.env"
nsv_start "$H" "$tmp/cfg.json" "$tmp/server3.log"
t_expect "after a crash the journal restores both leases" "loaded 2 dynamic leases" cat "$tmp/server3.log"
t_expect "the snapshot is rewritten with both" '10.78.0.100.*10.78.0.101' \
	bash -c "sleep 1.5; tr -d '\n' <'$tmp/dynamic-leases.json' || true"

# ---- NAK rules (weakness #28) ----
NEWMAC=52:54:00:78:00:99
t_expect "INIT-REBOOT for a range address never offered to that MAC is NAKed" "^type=NAK " \
	ip netns exec "$D1" "$probe" -i eth0 -m $NEWMAC -t request -r 10.78.0.105
t_expect "INIT-REBOOT for an address of another network is NAKed" "^type=NAK .*opt56=wrong_network" \
	ip netns exec "$D1" "$probe" -i eth0 -m $NEWMAC -t request -r 192.168.5.5
t_expect "a known static MAC asking for another address is NAKed" "^type=NAK " \
	ip netns exec "$C1" "$probe" -i eth0 -m $MAC1 -t request -r 10.77.0.99
t_expect "INFORM gets the subnet options without an address" \
	"^type=ACK yiaddr=0.0.0.0 .*ciaddr=10.78.0.77 opt1=255.255.255.0 .*opt3=10.78.0.1" \
	ip netns exec "$D1" "$probe" -i eth0 -m $NEWMAC -t inform -c 10.78.0.77 -B
# RELEASE frees the dynamic lease and empties the state file.
ip netns exec "$D1" "$probe" -i eth0 -m $MACD -t release -c 10.78.0.100 -S 10.78.0.1 -w 0 || true
sleep 2
t_check "RELEASE removes the dynamic lease from dynamic-leases.json" \
	bash -c "grep -q 10.78.0.101 '$tmp/dynamic-leases.json' && ! grep -q 10.78.0.100 '$tmp/dynamic-leases.json'"

# ---- relays ----
if command -v dhcrelay >/dev/null; then
	nsv_bg relay ip netns exec "$R" dhcrelay -4 -d -q -pf "$tmp/relay.pid" -id eth1 -iu eth0 10.77.0.1
	sleep 1
	if udhcpc_get "$C4" "$tmp/c4.env"; then
		t_expect "a client behind ISC dhcrelay gets its lease through giaddr" \
			"^ip=10.79.0.44 router=10.79.0.1 subnet=255.255.255.0$" \
			bash -c "grep -E '^(ip|router|subnet)=' '$tmp/c4.env' | tr '\n' ' ' | sed 's/ \$//'"
	else
		t_fail "a client behind ISC dhcrelay gets its lease through giaddr" "$(tail -3 "$tmp/udhcpc.log")"
	fi
	nsv_kill "${NSV_BG_relay:?}"
else
	t_skip "a client behind ISC dhcrelay gets its lease through giaddr" "isc-dhcp-relay not installed"
fi
t_expect "a hand-made relayed DISCOVER is answered to giaddr:67" \
	"^type=OFFER yiaddr=10.79.0.44 siaddr=10.77.0.1 giaddr=10.79.0.1 .*opt3=10.79.0.1" \
	ip netns exec "$R" "$probe" -d 10.77.0.1 -l 67 -g 10.79.0.1 -m $MAC4
t_check "a relayed DISCOVER for a lease of another network gets nothing" \
	bash -c "! ip netns exec $R $probe -d 10.77.0.1 -l 67 -g 10.79.0.1 -m $MAC1 -w 800"

# ---- PXE classes on a netboot lease ----
t_expect "a BIOS PXE ROM gets pxelinux.0, next-server and option 60 PXEClient" \
	"^type=OFFER yiaddr=10.77.0.55 siaddr=10.77.0.1 .*opt60=PXEClient opt66=10.77.0.1 opt67=pxelinux.0" \
	ip netns exec "$P" "$probe" -i eth0 -m $MACNB -V PXEClient:Arch:00000:UNDI:002001 -a 0
t_expect "a UEFI x86-64 PXE client gets the per-arch loader" "opt67=pxelinux.7( |$)" \
	ip netns exec "$P" "$probe" -i eth0 -m $MACNB -V PXEClient:Arch:00007:UNDI:003016 -a 7
t_expect "iPXE (user class) gets the HTTP script URL, not pxelinux again" \
	"opt67=http://10.77.0.1:8067/boot/boot.ipxe" \
	ip netns exec "$P" "$probe" -i eth0 -m $MACNB -V PXEClient:Arch:00000:UNDI:002001 -U iPXE
t_expect "UEFI HTTP boot gets option 60 HTTPClient and a URL" \
	"opt60=HTTPClient .*opt67=http://10.77.0.1:8067/boot/pxelinux.16" \
	ip netns exec "$P" "$probe" -i eth0 -m $MACNB -V HTTPClient:Arch:00016:UNDI:003001 -a 16
t_expect "a VM lease carries no boot file" "^type=OFFER yiaddr=10.77.0.11 " \
	bash -c "ip netns exec $C1 $probe -i eth0 -m $MAC1 -V PXEClient:Arch:00000 | grep -v opt67"

# ---- malformed packets: dropped, counted, harmless ----
before=$(nsv_counter "$H" 10.77.0.1 8067 dhcp_malformed)
ip netns exec "$C3" "$probe" -i eth0 -M
sleep 0.5
after=$(nsv_counter "$H" 10.77.0.1 8067 dhcp_malformed)
t_check "malformed packets (short, bad hlen, no type, overrun) are counted" test "$after" -ge $((before + 4))
t_check "the server still serves after malformed packets" udhcpc_get "$C1" "$tmp/c1c.env"
t_check "the server is still running" kill -0 "$NSV_PID"
