#!/usr/bin/env bash
# timeout: 300
# Hostile input to the address pool and the subnets (issue 17, points 4, 5 and the
# subnet part of 6), against libvirt's in-process test driver. A pool address that is
# the gateway, the network or broadcast address or inside the DHCP dynamic range is
# refused, and create-vm never hands such an address out; UpdateSubnets refuses
# dynamic ranges over gateway, network or broadcast address, overlapping subnets, a
# /32, ids that are not short printable names (a newline, 1 MB), bad domain names,
# too many name servers, and changes that would make a pool or VM address reserved.
# After each refusal the subnets, the pool and the VM are as they were. Then the pool
# is filled to its bound (65,536 addresses in calls of 4,096), a call over the
# per-call bound and one over the total are refused, and a restarted daemon loads the
# full pool and answers /healthz (the time is a diagnostic, not asserted).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/hostile.sh"
t_require curl "status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require jq "address-pool.json is read with jq"

hv_setup "${SS_ID}br" 10.99.0.1/24 || exit 0
hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
hostile_mark

# srpc-testc script: "METHOD JSON" lines on stdin, one connection, no size limit of a
# command-line argument; exits 1 if a call failed ("ERR METHOD: Error: ...").
script() { # WHO
	hv_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -serverName=localhost \
		-certFile="$C/$1/$1.cert" -keyFile="$C/$1/$1.key" -CAfile="$C/ca/ca.pem" \
		-timeout=60s script
}
pool_add() { rpc admin Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[$1]}"; }
subnets() { rpc admin Hypervisor.UpdateSubnets "$1"; }
registered() { jq '.Registered | length' "$HV_STATE/address-pool.json"; }

t_expect "subnet t with a dynamic range" '"Error":""' subnets \
	'{"Add":[{"Id":"t","IpGateway":"10.99.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.99.0.1"],"FirstDynamicIP":"10.99.0.100","LastDynamicIP":"10.99.0.200"}]}'
t_expect "pool: 10.99.0.10" '"Error":""' pool_add '{"IpAddress":"10.99.0.10","MacAddress":"52:54:00:63:00:0a"}'

# ---- pool addresses the host keeps for itself ----
t_expect "pool address = gateway refused" 'IP 10\.99\.0\.1 is the gateway of subnet t' \
	pool_add '{"IpAddress":"10.99.0.1","MacAddress":"52:54:00:63:00:01"}'
t_expect "pool address = broadcast refused" 'IP 10\.99\.0\.255 is the broadcast address of subnet t' \
	pool_add '{"IpAddress":"10.99.0.255","MacAddress":"52:54:00:63:00:ff"}'
t_expect "pool address = network refused" 'IP 10\.99\.0\.0 is the network address of subnet t' \
	pool_add '{"IpAddress":"10.99.0.0","MacAddress":"52:54:00:63:00:fe"}'
t_expect "pool address inside the dynamic range refused" \
	'IP 10\.99\.0\.150 is in the DHCP dynamic range of subnet t \(10\.99\.0\.100-10\.99\.0\.200\)' \
	pool_add '{"IpAddress":"10.99.0.150","MacAddress":"52:54:00:63:00:96"}'
t_expect "a good address with the gateway: the whole request refused" 'is the gateway' \
	pool_add '{"IpAddress":"10.99.0.12","MacAddress":"52:54:00:63:00:0c"},{"IpAddress":"10.99.0.1","MacAddress":"52:54:00:63:00:01"}'
t_expect "...the pool holds 10.99.0.10 only" '^1 "10\.99\.0\.10"$' \
	jq -r '"\(.Registered | length) \"\(.Free[0].IpAddress)\""' "$HV_STATE/address-pool.json"
VM=$(vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=h create-vm 2>"$HV_DIR/create.err")
t_expect "create-vm gets the pool's address, not the gateway" '^10\.99\.0\.10$' echo "$VM"
t_expect_fail "a second create-vm finds no free address" 'no free address' \
	vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=h2 create-vm
t_expect "pool: 10.99.0.11 (free)" '"Error":""' pool_add '{"IpAddress":"10.99.0.11","MacAddress":"52:54:00:63:00:0b"}'

# What a refusal must leave as it was: subnets (RPC and page), the pool (file and
# pages), the VM.
state() {
	rpc admin Hypervisor.ListSubnets '{}'
	hv_curl listSubnets
	cat "$HV_STATE/subnets.json" "$HV_STATE/address-pool.json"
	hv_curl listRegisteredAddresses
	hv_curl listAvailableAddresses
	rpc admin Hypervisor.GetVmInfo "{\"IpAddress\":\"$VM\"}"
}
BASE=$(state)
unchanged() { diff <(printf '%s\n' "$BASE") <(state); }
refused() { # NAME PATTERN JSON: UpdateSubnets JSON refused with PATTERN, nothing changed
	t_expect "$1" "$2" subnets "$3"
	t_check "...nothing changed" unchanged
}

# ---- UpdateSubnets ----
refused "dynamic range over the gateway refused" 'subnet t: dynamic range 10\.99\.0\.1-10\.99\.0\.50 holds the gateway 10\.99\.0\.1' \
	'{"Change":[{"Id":"t","IpGateway":"10.99.0.1","IpMask":"255.255.255.0","FirstDynamicIP":"10.99.0.1","LastDynamicIP":"10.99.0.50"}]}'
refused "dynamic range over the network address refused" 'holds the network address 10\.98\.0\.0' \
	'{"Add":[{"Id":"x","IpGateway":"10.98.0.1","IpMask":"255.255.255.0","FirstDynamicIP":"10.98.0.0","LastDynamicIP":"10.98.0.0"}]}'
refused "dynamic range over the broadcast address refused" 'holds the broadcast address 10\.98\.0\.255' \
	'{"Add":[{"Id":"x","IpGateway":"10.98.0.1","IpMask":"255.255.255.0","FirstDynamicIP":"10.98.0.200","LastDynamicIP":"10.98.0.255"}]}'
refused "a subnet inside t refused" 'subnets o \(10\.99\.0\.129/25\) and t \(10\.99\.0\.1/24\) overlap' \
	'{"Add":[{"Id":"o","IpGateway":"10.99.0.129","IpMask":"255.255.255.128"}]}'
refused "a subnet around t refused" 'subnets o \(10\.0\.0\.1/8\) and t \(10\.99\.0\.1/24\) overlap' \
	'{"Add":[{"Id":"o","IpGateway":"10.0.0.1","IpMask":"255.0.0.0"}]}'
refused "two overlapping new subnets refused" 'subnets p1 .* and p2 .* overlap' \
	'{"Add":[{"Id":"p1","IpGateway":"10.97.0.1","IpMask":"255.255.0.0"},{"Id":"p2","IpGateway":"10.97.5.1","IpMask":"255.255.255.0"}]}'
refused "a /32 refused" 'subnet w: a /32 has no address besides its gateway' \
	'{"Add":[{"Id":"w","IpGateway":"10.96.0.1","IpMask":"255.255.255.255"}]}'
refused "a gateway on the network address refused" 'IpGateway 10\.96\.0\.0 is the network address' \
	'{"Add":[{"Id":"w","IpGateway":"10.96.0.0","IpMask":"255.255.255.0"}]}'
refused "an id with a newline refused" 'bad subnet id: \\"bad\?id\\" \(6 bytes\)' \
	'{"Add":[{"Id":"bad\nid","IpGateway":"10.96.0.1","IpMask":"255.255.255.0"}]}'
refused "an id with a space refused" 'bad subnet id' \
	'{"Add":[{"Id":"a b","IpGateway":"10.96.0.1","IpMask":"255.255.255.0"}]}'
refused "a 64-character id refused" 'bad subnet id: .*\(64 bytes\)' \
	"{\"Add\":[{\"Id\":\"$(printf 'i%.0s' {1..64})\",\"IpGateway\":\"10.96.0.1\",\"IpMask\":\"255.255.255.0\"}]}"
t_expect_fail "a 1 MB id refused" 'Error: bad subnet id: "x{40}\.\.\." \(1048576 bytes\)' \
	script admin < <(printf 'Hypervisor.UpdateSubnets {"Add":[{"Id":"%s","IpGateway":"10.96.0.1","IpMask":"255.255.255.0"}]}\n' \
		"$(head -c 1048576 /dev/zero | tr '\0' x)")
t_check "...nothing changed" unchanged
t_expect_fail "deleting a 1 MB id: a short error" 'Error: subnet: x{40}\.\.\. does not exist$' \
	script admin < <(printf 'Hypervisor.UpdateSubnets {"Delete":["%s"]}\n' "$(head -c 1048576 /dev/zero | tr '\0' x)")
refused "a domain name with a space refused" 'subnet w: bad DomainName \\"exa mple\.com\\"' \
	'{"Add":[{"Id":"w","IpGateway":"10.96.0.1","IpMask":"255.255.255.0","DomainName":"exa mple.com"}]}'
refused "a domain name with a newline refused" 'bad DomainName' \
	'{"Add":[{"Id":"w","IpGateway":"10.96.0.1","IpMask":"255.255.255.0","DomainName":"a.b\nc"}]}'
refused "a 64-character DNS label refused" 'bad DomainName' \
	"{\"Add\":[{\"Id\":\"w\",\"IpGateway\":\"10.96.0.1\",\"IpMask\":\"255.255.255.0\",\"DomainName\":\"$(printf 'l%.0s' {1..64}).example\"}]}"
refused "a 300-character domain name refused" 'bad DomainName .*\(300 bytes\)' \
	"{\"Add\":[{\"Id\":\"w\",\"IpGateway\":\"10.96.0.1\",\"IpMask\":\"255.255.255.0\",\"DomainName\":\"$(printf 'a.%.0s' {1..149})ab\"}]}"
refused "nine name servers refused" 'subnet w: 9 DomainNameServers \(at most 8\)' \
	"{\"Add\":[{\"Id\":\"w\",\"IpGateway\":\"10.96.0.1\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[$(printf '"10.96.0.1",%.0s' {1..8})\"10.96.0.1\"]}]}"
refused "a new gateway on the VM's address refused" 'address 10\.99\.0\.10 of VM 10\.99\.0\.10 would be the gateway of subnet t' \
	'{"Change":[{"Id":"t","IpGateway":"10.99.0.10","IpMask":"255.255.255.0"}]}'
refused "a dynamic range over a free pool address refused" 'pool address 10\.99\.0\.11 would be in the DHCP dynamic range of subnet t' \
	'{"Change":[{"Id":"t","IpGateway":"10.99.0.1","IpMask":"255.255.255.0","FirstDynamicIP":"10.99.0.11","LastDynamicIP":"10.99.0.20"}]}'
t_expect "a good subnet is still accepted" '"Error":""' \
	subnets '{"Add":[{"Id":"ok-1.x_y","IpGateway":"10.96.0.1","IpMask":"255.255.255.0","DomainName":"ok.example.com.","DomainNameServers":["10.96.0.1"]}]}'
t_expect "...and deleted" '"Error":""' subnets '{"Delete":["ok-1.x_y"]}'
t_check "...back as it was" unchanged
hostile_alive "after the attacks"

# ---- a pool at its bound: 65,536 addresses, 4,096 per call ----
t_expect "subnet big (a /15)" '"Error":""' subnets '{"Add":[{"Id":"big","IpGateway":"10.80.0.1","IpMask":"255.254.0.0"}]}'
BASE=$(state)
# COUNT addresses of big from index FROM on, as "METHOD JSON" lines of PER addresses.
lines() { # FROM COUNT PER
	awk -v from="$1" -v n="$2" -v per="$3" 'BEGIN {
		for (i = 0; i < n; i++) {
			k = from + i
			a = 256 + k
			if (i % per == 0)
				printf "%sHypervisor.ChangeAddressPool {\"AddressesToAdd\":[", (i ? "]}\n" : "")
			else
				printf ","
			printf "{\"IpAddress\":\"10.%d.%d.%d\",\"MacAddress\":\"52:54:01:%02x:%02x:%02x\"}",
				80 + int(a / 65536), int(a / 256) % 256, a % 256,
				int(k / 65536) % 256, int(k / 256) % 256, k % 256
		}
		if (n > 0)
			print "]}"
	}'
}
t_expect_fail "4,097 addresses in one call refused" 'too many addresses to add: 4097 \(at most 4096 in one call\)' \
	script admin < <(lines 0 4097 4097)
t_check "...nothing changed" unchanged
have=$(registered)
need=$((65536 - have))
calls=$(((need + 4095) / 4096))
t0=$(date +%s.%N)
t_expect "$need addresses in $calls calls of at most 4,096" "^CALLS Hypervisor.ChangeAddressPool $calls 0\$" \
	script admin < <(lines 0 "$need" 4096)
echo "# $calls ChangeAddressPool calls took $(echo "$(date +%s.%N) - $t0" | bc) s"
t_expect "...the pool holds 65536 addresses" '^65536$' registered
t_expect_fail "one address more refused: the pool is full" 'address pool full: 65536 registered, 1 more would pass the limit of 65536' \
	script admin < <(lines "$need" 1 1)
t_expect "...still 65536" '^65536$' registered
t_expect "/addresses lists them all" '65535 free of 65536 registered' hv_curl addresses
t_expect "free addresses of big in /metrics" 'hypervisor_subnet_free_addresses\{subnet="big"\} 65534' hv_curl metrics

hostile_settled "after filling the pool"
hv_daemon_stop
t0=$(date +%s.%N)
if hv_daemon_start -virtType=qemu -stopTimeout=2s; then
	echo "# healthz after $(echo "$(date +%s.%N) - $t0" | bc) s with 65536 pool addresses"
	t_ok "restart with a full pool: /healthz answers"
else
	t_fail "restart with a full pool: /healthz answers" "$(tail -5 "$HV_LOG")"
	exit 0
fi
t_expect "...the pool kept its 65536 addresses" '^65536$' registered
t_check "...start-up repaired nothing" bash -c "! grep -rq 'address pool:' '$HV_DIR/daemon-log' '$HV_LOG'"
hostile_alive "after the restart with a full pool"
hostile_settled "end (full pool loaded)"
