#!/usr/bin/env bash
# timeout: 900
# The Fleet Manager's side of its hypervisors (spec/fleet-and-images.md §1), against
# three real hypervisor daemons (libvirt's test driver), each in its own network
# namespace with its own bridge, and a real fleet-manager in a fourth namespace whose
# bridge reaches theirs through veth pairs (all on 10.107.0.0/24):
#   - ChangeOwners with the machine's merged owners (the hypervisor's owners.json);
#   - the topology's subnets pushed (subnets.json), the Manage one and the other;
#   - every pool refilled to desired (16) from FirstAutoIP..LastAutoIP, MACs derived
#     from the IPs, no address in two pools, and the FM's record agrees;
#   - a pool above the high mark trimmed to desired, one below the low mark refilled;
#     a disabled hypervisor's free addresses all trimmed, refilled once enabled;
#   - MoveIpAddresses moves a free address from one hypervisor to another;
#   - a VM created on a hypervisor is found by GetHypervisorForVM and in a GetUpdates
#     watcher's first Update, and is gone once destroyed;
#   - a killed hypervisor drops out of ListHypervisorsInLocation and comes back when
#     restarted; a stopped one (SIGSTOP: the stream goes silent) is dropped after the
#     19 s unreachable timer and reconnected after SIGCONT;
#   - kill -9 of the fleet manager in the middle of refills: ten times just after its
#     start (marks raised each time), eight times a few ms after a pool was emptied
#     by hand, each time restarted: every pool reaches the new size, no address is in
#     two pools, the FM's record agrees; a read-only fleet manager neither refills nor
#     moves.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/hyper2.sh"
. "$SS_TOP/tests/lib/fleet.sh"
t_require jq "the hypervisors' state files are read with jq"
t_require openssl "test certificates are made with openssl"

NET=10.107.0
FMIP=$NET.251
NAMES="A B C"
declare -A IP=([A]=$NET.1 [B]=$NET.2 [C]=$NET.3) HOST=([A]=hvA [B]=hvB [C]=hvC)

# ---- the fleet manager's namespace and its bridge ----
fm_setup || exit 0
if ! { fm_ns ip link add "${SS_ID}bf" type bridge && fm_ns ip addr add "$FMIP/24" dev "${SS_ID}bf" &&
	fm_ns ip link set "${SS_ID}bf" up; }; then
	t_fail "FM bridge"
	exit 0
fi

# ---- three hypervisors ----
HV_CERT_SAN="DNS:localhost, IP:127.0.0.1, IP:${IP[A]}, IP:${IP[B]}, IP:${IP[C]}"
export HV_CERT_SAN
id=$SS_ID
for n in $NAMES; do
	SS_ID=${id}${n,,}
	hv_env_start || { SS_ID=$id; t_fail "environment $n"; exit 0; }
	SS_ID=$id
	hv_bridge "${SS_ID}b${n,,}" "${IP[$n]}/24" || { t_fail "bridge $n"; exit 0; }
	if [ "$n" = A ]; then
		hv_certs || { t_fail "test certificates"; exit 0; }
		C=$HV_DIR/certs
	else
		cp -r "$C" "$HV_DIR/certs"
	fi
	# veth: FM's bridge <-> this hypervisor's bridge
	if ! { fm_ns ip link add "${SS_ID}f${n,,}" type veth peer name "${SS_ID}h${n,,}" netns "$HV_NS" &&
		fm_ns ip link set "${SS_ID}f${n,,}" master "${SS_ID}bf" &&
		fm_ns ip link set "${SS_ID}f${n,,}" up &&
		hv_ns ip link set "${SS_ID}h${n,,}" master "${SS_ID}b${n,,}" &&
		hv_ns ip link set "${SS_ID}h${n,,}" up; }; then
		t_fail "veth to $n"
		exit 0
	fi
	hv2_save "$n"
	t_cleanup hv2_cleanup "$n"
done

fm_curl_at() { fm_ns curl -sSf --max-time 5 "http://$1" >/dev/null; }
start_hv() { # NAME
	hv2_use "$1"
	hv_daemon_start -virtType=qemu -stopTimeout=2s || return 1
	hv2_save "$1"
}
kill_hv() { # NAME
	hv2_use "$1"
	hv_daemon_kill9
	hv2_save "$1"
}
for n in $NAMES; do
	start_hv "$n" || { t_fail "hypervisor $n starts" "$(tail -5 "$HV_LOG")"; exit 0; }
done
for n in $NAMES; do
	t_check "the FM's namespace reaches $n's port" fm_curl_at "${IP[$n]}:$HV_PORT/healthz"
done

# ---- topology ----
TOPO=$FM_DIR/topo
mkdir -p "$TOPO/site/r1"
cat >"$TOPO/site/subnets.json" <<JSON
[{"Id": "fmnet", "IpGateway": "$NET.254", "IpMask": "255.255.255.0",
  "DomainNameServers": ["$NET.254"], "Manage": true,
  "FirstAutoIP": "$NET.10", "LastAutoIP": "$NET.200", "ReservedIPs": ["$NET.10", "$NET.11"]},
 {"Id": "other", "IpGateway": "10.108.0.1", "IpMask": "255.255.255.0",
  "DomainNameServers": ["10.108.0.1"]}]
JSON
cat >"$TOPO/site/owners.json" <<'JSON'
{"OwnerGroups": ["fleet-ops"], "OwnerUsers": ["alice"]}
JSON
cat >"$TOPO/site/r1/machines.json" <<JSON
[{"Hostname": "hvA", "HostIpAddress": "${IP[A]}", "OwnerUsers": ["zoe"]},
 {"Hostname": "hvB", "HostIpAddress": "${IP[B]}"},
 {"Hostname": "hvC", "HostIpAddress": "${IP[C]}"}]
JSON

FMFLAGS=(-topologyDir="$TOPO" -clientCertDir="$C/admin" -hypervisorCAfile="$C/ca/ca.pem")
start_fm() { # FLAGS...
	fm_start "${FMFLAGS[@]}" "$@"
}

# ---- helpers over the hypervisors' state files ----
pool_file() { echo "$(eval echo "\$_hv2_${1}_HV_STATE")/address-pool.json"; }
nfree() { jq '.Free | length' "$(pool_file "$1")" 2>/dev/null || echo 0; }
registered() { jq -r '.Registered[].IpAddress' "$(pool_file "$1")" 2>/dev/null; }
all_registered() { for n in $NAMES; do registered "$n"; done; }
dups() { all_registered | sort | uniq -d; }
wait_for() { # SECS CMD...: until CMD succeeds
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
free_is() { [ "$(nfree "$1")" -eq "$2" ]; }
all_free_are() { local n; for n in $NAMES; do free_is "$n" "$1" || return 1; done; }
listed() { # ADDR_RE: ListHypervisorsInLocation (healthy and connected) names it
	fm_rpc admin FleetManager.ListHypervisorsInLocation '{"Location":"site"}' | grep -qE "$1"
}
not_listed() { ! listed "$1"; }
no_dups() { [ -z "$(dups)" ]; }
# every registered address is in the FM's record, assigned to its hypervisor
record_agrees() {
	local n ip
	for n in $NAMES; do
		for ip in $(registered "$n"); do
			# shellcheck disable=SC2016 # $h and $ip are jq's
			jq -e --arg h "${HOST[$n]}" --arg ip "$ip" '.Assignments[$h] | index($ip)' \
				"$FM_DIR/state/address-pools.json" >/dev/null || { echo "$ip of $n"; return 1; }
		done
	done
}

# ---- managing fleet manager ----
start_fm -manageHypervisors || { t_fail "fleet-manager starts" "$(tail -5 "$FM_LOG")"; exit 0; }

for n in $NAMES; do
	hv2_use "$n"
	t_check "$n: subnets fmnet and other pushed" wait_for 20 sh -c \
		"jq -e '[.[].Id] | index(\"fmnet\") and index(\"other\")' '$HV_STATE/subnets.json'"
done
hv2_use A
t_expect "A: owners pushed, merged down the tree" '^fleet-ops alice,zoe$' \
	jq -r '"\(.OwnerGroups | join(",")) \(.OwnerUsers | sort | join(","))"' "$HV_STATE/owners.json"
t_check "every pool filled to desired (16)" wait_for 30 all_free_are 16
t_expect "no address in two pools" '^$' dups
range_summary() { all_registered | awk -F. '{n++; if (m == "" || $4 < m) m = $4; if ($4 > x) x = $4} END {print n, m, x}'; }
t_expect "48 addresses from the auto range, reserved .10/.11 skipped" '^48 12 ' range_summary
first_a=$(registered A | head -1)
IFS=. read -r o1 o2 o3 o4 <<<"$first_a"
# shellcheck disable=SC2016 # $ip is jq's
t_expect "MAC derived from the IP" "52:54:$(printf '%02x:%02x:%02x:%02x' "$o1" "$o2" "$o3" "$o4")" \
	jq -r --arg ip "$first_a" '.Registered[] | select(.IpAddress == $ip) | .MacAddress' "$(pool_file A)"
t_check "the FM's record agrees with the hypervisors" wait_for 10 record_agrees
t_check "ListHypervisorsInLocation names the three" listed "${IP[A]}.*${IP[B]}.*${IP[C]}|hvA.*hvB.*hvC"

# ---- above the high mark: trimmed; below the low mark: refilled ----
hv2_use A
extra=""
for i in $(seq 201 220); do
	extra+="${extra:+,}{\"IpAddress\":\"$NET.$i\",\"MacAddress\":\"52:54:0a:6b:00:$(printf %02x "$i")\"}"
done
t_expect "A: 20 addresses added by hand (36 free)" '"Error":""' \
	rpc admin Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[$extra]}"
t_check "A: trimmed back to 16" wait_for 20 free_is A 16
t_expect "A: B and C unchanged" '^16 16$' echo "$(nfree B) $(nfree C)"
remove=""
for ip in $(jq -r '.Free[].IpAddress' "$(pool_file A)" | head -12); do
	remove+="${remove:+,}{\"IpAddress\":\"$ip\"}"
done
t_expect "A: 12 free addresses removed by hand (4 free)" '"Error":""' \
	rpc admin Hypervisor.ChangeAddressPool "{\"AddressesToRemove\":[$remove]}"
t_check "A: refilled to 16" wait_for 20 free_is A 16
t_expect "no address in two pools after trim and refill" '^$' dups

# ---- MoveIpAddresses ----
mv_ip=$(jq -r '.Free[0].IpAddress' "$(pool_file B)")
t_expect "MoveIpAddresses $mv_ip B -> A" '"Error":""' \
	fm_rpc admin FleetManager.MoveIpAddresses "{\"HypervisorHostname\":\"hvA\",\"IpAddresses\":[\"$mv_ip\"]}"
in_pool() { registered "$1" | grep -qx "$2"; }
t_check "$mv_ip is in A's pool" in_pool A "$mv_ip"
t_check "$mv_ip left B's pool" eval "! in_pool B $mv_ip"
t_expect "MoveIpAddresses to an unknown hypervisor refused" 'unknown hypervisor' \
	fm_rpc admin FleetManager.MoveIpAddresses "{\"HypervisorHostname\":\"nope\",\"IpAddresses\":[\"$mv_ip\"]}"
move_to_a() { fm_rpc admin FleetManager.MoveIpAddresses "{\"HypervisorHostname\":\"hvA\",\"IpAddresses\":[\"$1\"]}"; }
t_expect "MoveIpAddresses of the gateway refused" 'reserved in subnet fmnet' move_to_a "$NET.254"
t_expect "MoveIpAddresses of a reserved address refused" 'reserved in subnet fmnet' move_to_a "$NET.10"
t_expect "MoveIpAddresses of a machine's address refused" 'address of machine hvC' move_to_a "${IP[C]}"
t_expect "MoveIpAddresses outside A's subnets refused" 'in no subnet of hvA' move_to_a 192.0.2.7
t_expect "no address in two pools after the move" '^$' dups

# ---- VMs feed the FM's view ----
hv2_use B
vm=$(vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=fmnet -vmTags=Name=fmvm create-vm 2>"$HV_DIR/create.err")
t_expect "a VM on B takes an address of B's pool" "^$NET\\.[0-9]+" echo "$vm$(tr "\n" " " <"$HV_DIR/create.err")"
for_vm() { fm_rpc admin FleetManager.GetHypervisorForVM "{\"IpAddress\":\"$vm\"}"; }
vm_on_b() { for_vm | grep -q "\"HypervisorAddress\":\"${IP[B]}:$HV_PORT\""; }
vm_gone() { for_vm | grep -q 'VM not found'; }
t_check "GetHypervisorForVM names B" wait_for 10 vm_on_b
t_expect "a GetUpdates watcher's first Update maps the VM to hvB" "\"$vm\":\"hvB\"" \
	fm_watch admin '{"Location":"site"}' VmToHypervisor 10
t_check "the VM destroyed" vmc user destroy-vm "$vm"
t_check "GetHypervisorForVM no longer finds it" wait_for 10 vm_gone
t_expect "no address in two pools with the VM's" '^$' dups

# ---- unreachable and back ----
kill_hv C
t_check "killed C drops out of ListHypervisorsInLocation" wait_for 10 not_listed "${IP[C]}|hvC"
start_hv C || t_fail "C restarts"
t_check "restarted C is listed again" wait_for 20 listed "${IP[C]}|hvC"
hv2_use C
kill -STOP "$HV_PID"
t_check "stopped C (silent stream) is dropped after the unreachable timer" wait_for 30 not_listed "${IP[C]}|hvC"
kill -CONT "$HV_PID"
t_check "C, continued, reconnects" wait_for 40 listed "${IP[C]}|hvC"
t_check "unreachable logged" grep -q 'hvC: nothing received for' "$FM_LOG"

# ---- a disabled hypervisor keeps no free addresses ----
hv2_use C
t_expect "C disabled" '"Error":""' rpc admin Hypervisor.SetDisabledState '{"Disable":true}'
t_check "disabled C: its free addresses trimmed to 0" wait_for 20 free_is C 0
t_expect "C enabled again" '"Error":""' rpc admin Hypervisor.SetDisabledState '{"Disable":false}'
t_check "enabled C: refilled to 16" wait_for 20 free_is C 16
t_expect "no address in two pools after C's round trip" '^$' dups

# ---- kill -9 of the fleet manager in the middle of refills ----
fm_kill9
# Each round raises the marks, so that the new process has refills to make, and kills
# it a little later each time after its start: before, during and after its
# ChangeAddressPool calls. A kill that lands after the record was written and before
# the hypervisor took the addresses leaves the record with addresses no pool has.
launch_fm() { # FLAGS...: fm_start without waiting
	FM_LOG=$FM_DIR/daemon.out
	ip netns exec "$FM_NS" "$FM_BIN/fleet-manager" -stateDir="$FM_DIR/state" \
		-logDir="$FM_DIR/log" -portNum="$FM_PORT" -CAfile="$FM_DIR/certs/CA.pem" \
		-certFile="$FM_DIR/certs/server.cert" -keyFile="$FM_DIR/certs/server.key" \
		-alsoLogToStderr "${FMFLAGS[@]}" "$@" >>"$FM_LOG" 2>&1 &
	FM_PID=$!
}
record_only() { # addresses the record gives to a hypervisor that does not have them
	local n
	for n in $NAMES; do
		# shellcheck disable=SC2016 # $h is jq's
		comm -23 <(jq -r --arg h "${HOST[$n]}" '.Assignments[$h][]?' \
			"$FM_DIR/state/address-pools.json" 2>/dev/null | sort) <(registered "$n" | sort)
	done
}
kill_dups="" between=0
for round in $(seq 1 10); do
	d=$((20 + round * 3))
	launch_fm -manageHypervisors -desiredAddressPoolSize=$d -minimumAddressPoolSize=$((d - 1)) \
		-maximumAddressPoolSize=$((d + 10))
	sleep "$(printf '0.%02d' $((round * 8)))"
	fm_kill9
	[ -n "$(record_only)" ] && between=$((between + 1))
	kill_dups+=$(dups)
done
echo "# $between of 10 kills left decided addresses that no hypervisor had yet"
t_expect "after each kill: no address in two pools" '^$' echo "$kill_dups"
BIG=(-desiredAddressPoolSize=55 -minimumAddressPoolSize=53 -maximumAddressPoolSize=65)
start_fm -manageHypervisors "${BIG[@]}" || t_fail "fleet-manager restarts after the kills"
t_check "every pool reaches 55" wait_for 60 all_free_are 55
# Kills while a running FM refills: addresses taken out of A's pool by hand, the FM
# killed a few milliseconds after, restarted.
for round in $(seq 0 7); do
	hv2_use A
	remove=""
	for ip in $(jq -r '.Free[].IpAddress' "$(pool_file A)" | head -10); do
		remove+="${remove:+,}{\"IpAddress\":\"$ip\"}"
	done
	rpc admin Hypervisor.ChangeAddressPool "{\"AddressesToRemove\":[$remove]}" >/dev/null
	sleep "0.0$round"
	fm_kill9
	[ -n "$(record_only)" ] && between=$((between + 1))
	kill_dups+=$(dups)
	start_fm -manageHypervisors "${BIG[@]}" || { t_fail "fleet-manager restarts (refill round $round)"; break; }
	wait_for 30 all_free_are 55 || { t_fail "pools back at 55 (refill round $round)"; break; }
done
echo "# in all, $between of 18 kills left decided addresses that no hypervisor had yet"
t_expect "after each kill during a refill: no address in two pools" '^$' echo "$kill_dups"
t_expect "no address in two pools after the restart" '^$' dups
t_check "the FM's record agrees after the restart" wait_for 10 record_agrees
fm_stop

# ---- read-only ----
start_fm "${BIG[@]}" || t_fail "read-only fleet-manager starts"
hv2_use B
remove=""
for ip in $(jq -r '.Free[].IpAddress' "$(pool_file B)" | head -20); do
	remove+="${remove:+,}{\"IpAddress\":\"$ip\"}"
done
rpc admin Hypervisor.ChangeAddressPool "{\"AddressesToRemove\":[$remove]}" >/dev/null
t_check "read-only: B is listed (connected)" wait_for 20 listed "${IP[B]}|hvB"
sleep 3
t_expect "read-only: B's pool is not refilled" '^35$' nfree B
t_expect "read-only: MoveIpAddresses refused" 'read-only' \
	fm_rpc admin FleetManager.MoveIpAddresses "{\"HypervisorHostname\":\"hvB\",\"IpAddresses\":[\"$mv_ip\"]}"
fm_stop
t_check "no sanitizer report from the fleet-manager" eval "! grep -E 'ERROR: [A-Za-z]*Sanitizer|runtime error:' '$FM_LOG'"
