#!/usr/bin/env bash
# timeout: 240
# Hostile inputs over RPC against the full daemon (issue 17, point 6), with libvirt's
# test driver: strings holding a NUL ("nul\u0000tail") in tags, hostnames and CreateVm
# requests are refused with an error naming the field, and nothing is stored (they
# were stored cut, as "nul"); a method line with a NUL or another control byte, sent
# raw through CONNECT + TLS, is refused as malformed (Hypervisor.ListVMs\0junk ran
# ListVMs); oversize tags, hostnames, owner lists and subnet ids are refused with their
# limit, floods of 100,000 tags or owners within seconds. After each attack /healthz
# and an admin call answer; at the end the daemon's fds and RSS are back.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/hostile.sh"
t_require openssl "the raw method lines go through openssl s_client"
t_require jq "info.json is read with jq"

hv_setup "${SS_ID}br" 10.108.0.1/24 || exit 0
tmp=$HV_DIR/hostile
mkdir -p "$tmp"

hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"s","IpGateway":"10.108.0.1","IpMask":"255.255.255.0"}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.108.0.10","MacAddress":"52:54:00:6c:00:0a"},
	  {"IpAddress":"10.108.0.11","MacAddress":"52:54:00:6c:00:0b"}]}' >/dev/null
VM=$(vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=s -hostname=web1 create-vm 2>/dev/null)
t_expect "a VM to attack" '^10\.108\.0\.10$' echo "$VM"

info() { jq -c "$1" "$HV_STATE/VMs/$VM/info.json"; }
nvms() { find "$HV_STATE/VMs" -mindepth 1 -maxdepth 1 | wc -l; }
ms() { echo $(($(date +%s%N) / 1000000)); }
hostile_mark

# ---- NUL inside strings ----
t_expect_fail "ChangeVmTags with a value \"nul\\u0000tail\" is refused, naming the field" \
	'Tags\.Name: string contains a NUL character' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{\"Name\":\"nul\\u0000tail\"}}"
t_expect "...nothing stored: the tags are as they were" '^\{"Name":"s"\}$' info '.Tags'
t_expect_fail "ChangeVmTags with a NUL in a key is refused" 'not valid JSON|NUL' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{\"a\\u0000b\":\"x\"}}"
t_expect_fail "ChangeVmHostname \"nul\\u0000tail\" is refused" 'Hostname: string contains a NUL' \
	rpc user Hypervisor.ChangeVmHostname "{\"IpAddress\":\"$VM\",\"Hostname\":\"nul\\u0000tail\"}"
t_expect "...the hostname is as it was" '^"web1"$' info '.Hostname'
t_expect_fail "ChangeVmOwnerGroups with a NUL in a name is refused" 'OwnerGroups\[0\]: string contains a NUL' \
	rpc user Hypervisor.ChangeVmOwnerGroups "{\"IpAddress\":\"$VM\",\"OwnerGroups\":[\"ops\\u0000x\"]}"
t_expect "...no owner groups stored" '^null$' info '.OwnerGroups'
t_expect "CreateVm with Hostname \"nul\\u0000tail\" is answered with the error" \
	'"Error":"CreateVmRequest: \.Hostname: string contains a NUL character' \
	first user Hypervisor.CreateVm \
	'{"Hostname":"nul\u0000tail","MemoryInMiB":64,"MilliCPUs":100,"MinimumFreeBytes":1048576}'
t_expect "...and no VM was made" '^1$' nvms
hostile_alive "NUL in strings"

# ---- method lines with control bytes, raw through CONNECT + TLS ----
sclient() { # LINE: sends LINE (printf %b escapes) then "{}" as an admin; prints what comes back
	(sleep 0.5; printf '%b' "$1"; sleep 0.3; printf '{}\n'; sleep 0.7) |
		timeout 10 ip netns exec "$HV_NS" openssl s_client -quiet -no_ign_eof \
			-proxy "127.0.0.1:$HV_PORT" -connect '/_SRPC_/TLS/JSON?s=:1' \
			-CAfile "$C/ca/ca.pem" -servername localhost \
			-cert "$C/admin/admin.cert" -key "$C/admin/admin.key" 2>&1
}
not_served() { # WHAT OUTPUT: refused as malformed, and ListVMs did not run
	if grep -q 'IpAddresses' <<<"$2"; then
		t_fail "$1" "ListVMs ran: $(head -c 300 <<<"$2")"
	elif grep -q 'malformed Service.Method: Hypervisor.ListVMs?junk' <<<"$2"; then
		t_ok "$1"
	else
		t_fail "$1" "no \"malformed\" answer: $(tail -3 <<<"$2")"
	fi
}
t_expect "control: the plain method line through s_client runs ListVMs" 'IpAddresses' \
	sclient 'Hypervisor.ListVMs\n'
not_served "Hypervisor.ListVMs\\0junk is refused as a malformed method" "$(sclient 'Hypervisor.ListVMs\0junk\n')"
not_served "Hypervisor.ListVMs\\x01junk is refused too" "$(sclient 'Hypervisor.ListVMs\001junk\n')"
not_served "Hypervisor.ListVMs\\x1bjunk is refused too" "$(sclient 'Hypervisor.ListVMs\033junk\n')"
hostile_alive "control bytes in method lines"

# ---- oversize strings and lists ----
big() { head -c "$1" /dev/zero | tr '\0' "$2"; }
items() { # N FORMAT: N comma-separated copies of FORMAT (printf, %d = 1..N)
	local i
	# shellcheck disable=SC2059 # the format is the argument
	for ((i = 1; i <= $1; i++)); do printf ",$2" "$i"; done | sed 's/^,//'
}
t_expect "65 tags are refused" '"Error":".*too many tags: 65 \(at most 64\)' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{$(items 65 '"k%d":"v"')}}"
t_expect "64 tags are accepted" '"Error":""' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{$(items 64 '"k%d":"v"')}}"
t_expect "a tag key of 129 bytes is refused" '"Error":".*too long: 129 bytes \(at most 128\)' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{\"$(big 129 k)\":\"v\"}}"
t_expect "a tag value of 1025 bytes is refused" '"Error":".*too long: 1025 bytes \(at most 1024\)' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{\"k\":\"$(big 1025 v)\"}}"
t_expect "a tag value of 100,000 bytes is refused" '"Error":".*at most 1024' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{\"k\":\"$(big 100000 v)\"}}"
t_expect "...the 64 tags stayed" '^64$' info '.Tags | length'
t_expect "a hostname label of 64 bytes is refused" '"Error":".*invalid hostname.*1 to 63 bytes' \
	rpc user Hypervisor.ChangeVmHostname "{\"IpAddress\":\"$VM\",\"Hostname\":\"$(big 64 a)\"}"
t_expect "a hostname of 300 bytes is refused" '"Error":".*invalid hostname.*300 bytes \(at most 253\)' \
	rpc user Hypervisor.ChangeVmHostname "{\"IpAddress\":\"$VM\",\"Hostname\":\"$(big 300 a)\"}"
t_expect "a hostname with '_' is refused" '"Error":".*invalid hostname' \
	rpc user Hypervisor.ChangeVmHostname "{\"IpAddress\":\"$VM\",\"Hostname\":\"a_b\"}"
t_expect "...the hostname is as it was" '^"web1"$' info '.Hostname'
t_expect "CreateVm with a SubnetId of 300 bytes is refused" \
	'"Error":"SubnetId too long: 300 bytes \(at most 256\)"' first user Hypervisor.CreateVm \
	"{\"SubnetId\":\"$(big 300 s)\",\"MemoryInMiB\":64,\"MilliCPUs\":100,\"MinimumFreeBytes\":1048576}"
t_expect "CreateVm with 33 secondary subnets is refused" \
	'"Error":"too many SecondarySubnetIDs: 33 \(at most 32\)"' first user Hypervisor.CreateVm \
	"{\"SecondarySubnetIDs\":[$(items 33 '"s%d"')],\"MemoryInMiB\":64,\"MilliCPUs\":100,\"MinimumFreeBytes\":1048576}"
t_expect "CreateVm with a tag value of 2,000 bytes is refused" \
	'"Error":"value of tag \\"k\\" too long: 2000 bytes' first user Hypervisor.CreateVm \
	"{\"Tags\":{\"k\":\"$(big 2000 v)\"},\"MemoryInMiB\":64,\"MilliCPUs\":100,\"MinimumFreeBytes\":1048576}"
t_expect "...and no VM was made" '^1$' nvms
hostile_alive "oversize strings"

# ---- floods: 100,000 tags, 100,000 owners (each ~1.5 MB, within the 16 MiB message) ----
awk -v vm="$VM" 'BEGIN { printf "{\"IpAddress\":\"%s\",\"Tags\":{", vm
	for (i = 0; i < 100000; i++) printf "%s\"k%d\":\"v\"", (i ? "," : ""), i; print "}}" }' >"$tmp/tags.json"
awk -v vm="$VM" 'BEGIN { printf "{\"IpAddress\":\"%s\",\"OwnerUsers\":[", vm
	for (i = 0; i < 100000; i++) printf "%s\"u%d\"", (i ? "," : ""), i; print "]}" }' >"$tmp/owners.json"
t0=$(ms)
t_expect "100,000 tags are refused" '"Error":".*too many tags: 100000 \(at most 64\)' \
	rpc user Hypervisor.ChangeVmTags "@$tmp/tags.json"
t1=$(ms)
t_check "...within 10 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 10000
t_expect "100,000 owner users are refused" '"Error":".*too many OwnerUsers: 100000 \(at most 64\)' \
	rpc user Hypervisor.ChangeVmOwnerUsers "@$tmp/owners.json"
t2=$(ms)
t_check "...within 10 s ($((t2 - t1)) ms)" test $((t2 - t1)) -lt 10000
t_expect "...the owners are as they were" '^\["alice"\]$' info '.OwnerUsers'
hostile_alive "floods"

hostile_settled "hostile inputs"
