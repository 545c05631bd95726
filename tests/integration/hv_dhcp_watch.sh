#!/usr/bin/env bash
# timeout: 150
# RegisterExternalLeases and WatchDhcp against libvirt's test driver, with a machine
# on the test bridge (a namespace running busybox udhcpc): it gets no lease until the
# admin registers its address and hostname, then exactly that lease, and none once the
# registered set is emptied; WatchDhcp relays its raw DHCP packet. Both are refused
# without the grant; an address outside every subnet, a missing IP, a multicast MAC or
# an unknown interface gives a clear error and registers nothing.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "the daemon's /healthz is fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require udhcpc "busybox udhcpc stands in for an externally leased machine"
t_require jq "stream messages are checked with jq"

BR=${SS_ID}br
hv_setup "$BR" 10.105.0.1/24 || exit 0


hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts"

t_expect "subnet m" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"m","IpGateway":"10.105.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.105.0.1"]}]}'

# ---- RegisterExternalLeases + WatchDhcp: a machine on the bridge ----
hv_dhcp_machine "$BR" 52:54:00:69:00:32
lease() { hv_lease "$@"; } # the machine's DHCP exchange: "hostname=... ip=... ."
t_expect "before registration the machine gets no lease" '^\.$' lease
t_expect_fail "RegisterExternalLeases refused without the grant" 'access to method denied' \
	rpc user Hypervisor.RegisterExternalLeases '{"Addresses":[{"IpAddress":"10.105.0.50","MacAddress":"52:54:00:69:00:32"}]}'
t_expect "RegisterExternalLeases: an address outside every subnet" 'no subnet found for 10.9.9.9' \
	rpc admin Hypervisor.RegisterExternalLeases '{"Addresses":[{"IpAddress":"10.105.0.50","MacAddress":"52:54:00:69:00:32"},{"IpAddress":"10.9.9.9","MacAddress":"52:54:00:69:00:33"}]}'
t_expect "RegisterExternalLeases: an address without IP" 'no IP address' \
	rpc admin Hypervisor.RegisterExternalLeases '{"Addresses":[{"MacAddress":"52:54:00:69:00:32"}]}'
t_expect "RegisterExternalLeases: a multicast MAC" 'bad MAC address' \
	rpc admin Hypervisor.RegisterExternalLeases '{"Addresses":[{"IpAddress":"10.105.0.50","MacAddress":"01:00:5e:00:00:01"}]}'
t_expect "... none of the refused requests registered a lease" '^\.$' lease
t_expect "RegisterExternalLeases: the admin registers the machine" '^\{"Error":""\}$' \
	rpc admin Hypervisor.RegisterExternalLeases '{"Addresses":[{"IpAddress":"10.105.0.50","MacAddress":"52:54:00:69:00:32"}],"Hostnames":["ext-one"]}'

t_expect_fail "WatchDhcp refused without the grant" 'access to method denied' \
	first user Hypervisor.WatchDhcp "{\"Interface\":\"$BR\",\"MaxPackets\":1}"
t_expect "WatchDhcp: an unknown interface" 'unknown interface: nosuchif0' \
	first admin Hypervisor.WatchDhcp '{"Interface":"nosuchif0","MaxPackets":1}'
first admin Hypervisor.WatchDhcp "{\"Interface\":\"$BR\",\"MaxPackets\":1}" >"$HV_DIR/watch.out" 2>&1 &
WATCH=$!
sleep 1
t_expect "the machine gets the registered lease and hostname" '^hostname=ext-one ip=10\.105\.0\.50 \.$' lease
wait "$WATCH"
t_expect "WatchDhcp: the machine's DHCP packet on the bridge" "^$BR true\$" \
	jq -r '"\(.Interface) \((.Packet | @base64d | length) >= 240)"' "$HV_DIR/watch.out"
# BOOTP: op 1 (request), htype 1, hlen 6; chaddr at offset 28 is the machine's MAC.
t_expect "WatchDhcp: the packet is the raw DHCP payload from the machine's MAC" '^01010600 525400690032$' \
	bash -c "jq -r .Packet '$HV_DIR/watch.out' | base64 -d | od -An -tx1 -v | tr -d ' \n' | sed -E 's/^(.{8}).{48}(.{12}).*/\1 \2/'"
t_expect "RegisterExternalLeases: an empty set removes the lease" '^\{"Error":""\}$' \
	rpc admin Hypervisor.RegisterExternalLeases '{"Addresses":[]}'
t_expect "... and the machine gets no lease any more" '^\.$' lease
