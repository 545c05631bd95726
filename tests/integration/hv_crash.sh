#!/usr/bin/env bash
# timeout: 600
# Crash consistency of the hypervisor daemon (issue 13). The daemon drives libvirt's
# test driver hosted by a private libvirtd (test+unix:///default through the harness's
# socket; a held-open virsh connection keeps the driver's state alive while the daemon
# is down), so domains outlive a kill -9 of the daemon exactly as QEMU domains do, at no
# boot cost. SS_CRASH_OPS pseudo-random operations (create-vm streamed / file:// URL /
# empty root, with or without -doNotStart; start-vm, stop-vm, destroy-vm; seed
# SS_CRASH_SEED, printed) run while a background killer kill -9s the daemon after
# 0-300 ms on about one operation in four; the daemon is restarted after each kill.
# After every restart and at checkpoints: no VM lost, duplicated or appeared from
# nowhere; libvirt domains match the VMs' states; address pool + VMs' addresses = the
# initial pool exactly; no orphan volume or VM directory; every state file parses and
# no temporary file is left; `hypervisor check-vms` reports nothing. Then a full state
# disk (tmpfs): ChangeAddressPool, UpdateSubnets, create-vm and change-vm-tags fail
# with a clear error, leave every file byte-identical and no temporary behind, the
# daemon survives, and all four succeed once space is freed.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "the test driver is hosted by a private libvirtd"
t_require virsh "domains are inspected with virsh"
t_require jq "state files are checked with jq"
t_require curl "the harness waits for /healthz with curl"

OPS=${SS_CRASH_OPS:-200}
SEED=${SS_CRASH_SEED:-$(( $(date +%s) % 32768 ))}
echo "# seed $SEED (SS_CRASH_SEED), $OPS operations (SS_CRASH_OPS)"
RANDOM=$SEED
CLI_BIN=${SS_NORMAL_BIN:-$SS_BIN}
[ -x "$CLI_BIN/vm-control" ] || CLI_BIN=$SS_BIN

hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
HV_URI="test+unix:///default?socket=$HV_DIR/sock/libvirt-sock"
# The test driver frees its state when its last connection closes: hold one open.
mkfifo "$HV_DIR/hold"
virsh -c "$HV_URI" <"$HV_DIR/hold" >/dev/null 2>&1 &
holder=$!
exec 9>"$HV_DIR/hold"
t_cleanup eval "exec 9>&-; kill $holder"
if hv_virsh list --name >/dev/null; then t_ok "libvirtd hosts the test driver (held open)"; else
	t_fail "libvirtd hosts the test driver"
	exit 0
fi
hv_bridge "${SS_ID}br" 10.103.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
mkdir -p "$HV_DIR/images"
head -c 4194304 /dev/urandom >"$HV_DIR/images/disk.img"

DFLAGS=(-virtType=qemu -stopTimeout=2s -acknowledgeTimeout=120s -localImagesDirectory="$HV_DIR/images")
hv_daemon_start "${DFLAGS[@]}" || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts against the held test driver"
uuid8=$(cut -c1-8 "$HV_STATE/uuid")

rpc() {
	hv_ns timeout 30 "$CLI_BIN/srpc-testc" -certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" \
		-CAfile="$C/ca/ca.pem" call "$@"
}
vmc() {
	hv_ns timeout 30 "$CLI_BIN/vm-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 -connectTimeout=5s -dhcpTimeout=0 "$@"
}
check_vms() {
	"$SS_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$HV_DIR/volumes" \
		-libvirtURI="$HV_URI" check-vms
}

rpc Hypervisor.UpdateSubnets '{"Add":[{"Id":"c","IpGateway":"10.103.0.1","IpMask":"255.255.255.0"}]}' >/dev/null
addrs=
for i in $(seq 10 25); do
	addrs+=$(printf '{"IpAddress":"10.103.0.%d","MacAddress":"52:54:00:67:00:%02x"},' "$i" "$i")
done
t_expect "pool of 16 addresses" '"Error":""' rpc Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[${addrs%,}]}"
POOL0=$(jq -r '.Registered[] | "\(.IpAddress) \(.MacAddress)"' "$HV_STATE/address-pool.json" | tr A-F a-f | sort)
[ "$(wc -l <<<"$POOL0")" = 16 ] || t_fail "pool file lists 16 registered addresses" "$POOL0"

# ---- the model: what the client was told ----
declare -A KNOWN=() # IP -> 1 for every VM the client knows exists
violations=0
declare -A VCOUNT=()
violation() { # CATEGORY MESSAGE
	violations=$((violations + 1))
	VCOUNT[$1]=$((${VCOUNT[$1]:-0} + 1))
	echo "# VIOLATION [$1] $2"
}
# One jq pass over every info.json: STATE[ip], VOLS[ip] (volume files, one a line),
# ADDRS (every VM's "ip mac" lines).
declare -A STATE=() VOLS=()
ADDRS=
load_infos() {
	local ip st rest
	STATE=() VOLS=() ADDRS=
	compgen -G "$HV_STATE/VMs/*/info.json" >/dev/null || return 0
	while IFS=$'\t' read -r ip st rest; do
		case $st in
		A) ADDRS+="$rest"$'\n' ;;
		V) VOLS[$ip]+="$rest"$'\n' ;;
		*) STATE[$ip]=$rest ;;
		esac
	done < <(jq -r '.Address.IpAddress as $ip |
		[$ip, "S", .State],
		(([.Address] + (.SecondaryAddresses // []))[] | [$ip, "A", "\(.IpAddress) \(.MacAddress)"]),
		(.VolumeLocations[]? | [$ip, "V", .Filename]) | @tsv' "$HV_STATE"/VMs/*/info.json 2>/dev/null)
}

# Compares the daemon's list with the model. INTERRUPTED: "create", "destroy IP" or "".
resync() {
	local interrupted=$1 listed ip extra=0
	if ! listed=$(vmc list-vms 2>&1); then
		violation lost "list-vms failed: $listed"
		return
	fi
	listed=$(grep -E '^[0-9.]+$' <<<"$listed" | sort)
	[ -z "$(uniq -d <<<"$listed")" ] || violation lost "duplicates in list-vms: $(uniq -d <<<"$listed" | tr '\n' ' ')"
	for ip in "${!KNOWN[@]}"; do
		grep -qxF "$ip" <<<"$listed" && continue
		if [ "$interrupted" = "destroy $ip" ]; then
			unset "KNOWN[$ip]"
		else
			violation lost "VM $ip was lost"
			unset "KNOWN[$ip]"
		fi
	done
	for ip in $listed; do
		[ -n "${KNOWN[$ip]:-}" ] && continue
		extra=$((extra + 1))
		if [ "$interrupted" = create ] && [ $extra = 1 ]; then
			adopted=$((adopted + 1))
			echo "# adopted $ip (its create was interrupted after the commit)"
		else
			violation lost "VM $ip appeared from nowhere"
		fi
		KNOWN[$ip]=1
	done
}

# The full set of invariants; the daemon is idle.
checkpoint() {
	local tag=$1 listed ip f st doms want out rc
	checkpoints=$((checkpoints + 1))
	resync ""
	listed=$(printf '%s\n' "${!KNOWN[@]}" | sort)
	# VM directories: exactly the listed VMs, each with an info.json whose State
	# matches its domain.
	load_infos
	doms=$(hv_virsh list --name | sed -n "s/^hv-$uuid8-//p" | sort)
	[ -z "$(uniq -d <<<"$doms")" ] || violation domains "$tag: a domain twice"
	for d in "$HV_STATE"/VMs/*; do
		[ -e "$d" ] || continue
		ip=${d##*/}
		grep -qxF "$ip" <<<"$listed" || violation orphans "$tag: VM directory $d of no listed VM"
		[ -f "$d/info.json" ] || violation orphans "$tag: $d without info.json"
	done
	for ip in $listed; do
		st=${STATE[$ip]:-}
		case $st in
		running) want=1 ;;
		stopped | crashed | "failed to start") want=0 ;;
		*) violation domains "$tag: VM $ip at rest in state '$st'"; continue ;;
		esac
		if grep -qxF "$ip" <<<"$doms"; then
			[ $want = 1 ] || violation domains "$tag: VM $ip is $st but its domain runs"
		else
			[ $want = 0 ] || violation domains "$tag: VM $ip is $st but has no domain"
		fi
	done
	for ip in $doms; do
		grep -qxF "$ip" <<<"$listed" || violation domains "$tag: domain for $ip without a VM"
	done
	# Address pool: Registered is the initial pool; Free + VMs' addresses = Registered,
	# with no IP or MAC twice.
	local reg free used all
	reg=$(jq -r '.Registered[]? | "\(.IpAddress) \(.MacAddress)"' "$HV_STATE/address-pool.json" | tr A-F a-f | sort)
	free=$(jq -r '.Free[]? | "\(.IpAddress) \(.MacAddress)"' "$HV_STATE/address-pool.json" | tr A-F a-f | sort)
	used=$(printf '%s' "$ADDRS" | tr A-F a-f | sort)
	all=$(printf '%s\n%s\n' "$free" "$used" | sed '/^$/d' | sort)
	[ "$reg" = "$POOL0" ] || violation pool "$tag: registered addresses changed: $(diff <(echo "$POOL0") <(echo "$reg") | tr '\n' ' ')"
	[ -z "$(awk '{print $1}' <<<"$all" | uniq -d)" ] || violation pool "$tag: IP twice: $(awk '{print $1}' <<<"$all" | uniq -d | tr '\n' ' ')"
	[ -z "$(awk '{print $2}' <<<"$all" | sort | uniq -d)" ] || violation pool "$tag: MAC twice: $(awk '{print $2}' <<<"$all" | sort | uniq -d | tr '\n' ' ')"
	[ "$all" = "$POOL0" ] || violation pool "$tag: free + used != pool: $(diff <(echo "$POOL0") <(echo "$all") | grep '^[<>]' | tr '\n' ' ')"
	# Volumes: every file belongs to a listed VM's VolumeLocations, and those exist.
	for d in "$HV_DIR"/volumes/*; do
		[ -e "$d" ] || continue
		ip=${d##*/}
		if ! grep -qxF "$ip" <<<"$listed"; then
			violation orphans "$tag: volume directory $d of no VM ($(find "$d" -mindepth 1 -printf '%f '))"
			continue
		fi
		for f in "$d"/* "$d"/.[!.]*; do
			[ -e "$f" ] || continue
			grep -qxF "$f" <<<"${VOLS[$ip]:-}" || violation orphans "$tag: $f is no volume of $ip"
		done
	done
	for ip in $listed; do
		for f in ${VOLS[$ip]:-}; do
			[ -f "$f" ] || violation orphans "$tag: volume $f of $ip missing"
		done
	done
	# State files parse; no temporary files anywhere.
	out=$(find "$HV_STATE" -name '*.json' -exec sh -c 'for f; do jq empty "$f" >/dev/null 2>&1 || echo "$f"; done' sh {} + | tr '\n' ' ')
	[ -z "$out" ] || violation files "$tag: state files that do not parse: $out"
	out=$(find "$HV_STATE" "$HV_DIR/volumes" -name '*~' -o -name '*.tmp' | tr '\n' ' ')
	[ -z "$out" ] || violation files "$tag: temporary files left: $out"
	out=$(check_vms 2>&1)
	rc=$?
	[ "$rc:$out" = "0:" ] || violation checkvms "$tag: check-vms ($rc): $(tr '\n' ' ' <<<"$out")"
}

# ---- the operations ----
pick() { # one random known VM, optionally in one of the given states
	local ip cands=()
	for ip in "${!KNOWN[@]}"; do
		if [ $# = 0 ]; then cands+=("$ip"); continue; fi
		for s in "$@"; do [ "${STATE[$ip]:-}" = "$s" ] && cands+=("$ip"); done
	done
	[ ${#cands[@]} -gt 0 ] || return 1
	# sorted first: the choice depends on the seed only
	mapfile -t cands < <(printf '%s\n' "${cands[@]}" | sort)
	echo "${cands[RANDOM % ${#cands[@]}]}"
}

ops=0 kills=0 kills_in_op=0 adopted=0 checkpoints=0 refused=0 failed_clean=0
declare -A NOPS=()
t0=$(date +%s)
for ((n = 1; n <= OPS; n++)); do
	r=$((RANDOM % 100))
	load_infos
	op='' target='' args=()
	if [ ${#KNOWN[@]} = 0 ] || [ $r -lt 35 ]; then
		op=create
		case $((RANDOM % 3)) in
		0) args=(-imageFile="$HV_DIR/images/disk.img") ;;
		1) args=(-imageURL="file://$HV_DIR/images/disk.img") ;;
		2) args=(-minFreeBytes=1M) ;;
		esac
		[ $((RANDOM % 3)) = 0 ] && args+=(-doNotStart)
		args=(-memory=16M -milliCPUs=10 -vmTags=Name="c$n" "${args[@]}" create-vm)
	elif [ $r -lt 55 ] && target=$(pick stopped crashed "failed to start"); then
		op=start args=(start-vm "$target")
	elif [ $r -lt 75 ] && target=$(pick running); then
		op=stop args=(stop-vm "$target")
	else
		target=$(pick) && op=destroy args=(destroy-vm "$target")
	fi
	[ -n "$op" ] || { op=create args=(-memory=16M -milliCPUs=10 -minFreeBytes=1M create-vm); }
	NOPS[$op]=$((${NOPS[$op]:-0} + 1))
	killer=
	rm -f "$HV_DIR/killed"
	if [ $((RANDOM % 4)) = 0 ]; then
		delay=$(printf '0.%03d' $((RANDOM % 301)))
		(sleep "$delay"; kill -9 "$HV_PID" 2>/dev/null && : >"$HV_DIR/killed") &
		killer=$!
	fi
	out=$(vmc "${args[@]}" 2>&1)
	rc=$?
	ops=$((ops + 1))
	# (bash's "Killed" job notices go to /dev/null)
	[ -n "$killer" ] && { wait "$killer"; } 2>/dev/null
	if [ -e "$HV_DIR/killed" ]; then
		kills=$((kills + 1))
		interrupted=
		if [ $rc != 0 ]; then
			kills_in_op=$((kills_in_op + 1))
			case $op in
			create) interrupted=create ;;
			destroy) interrupted="destroy $target" ;;
			esac
		fi
		[ $rc = 0 ] && [ $op = create ] && KNOWN[$(tail -1 <<<"$out")]=1
		[ $rc = 0 ] && [ $op = destroy ] && unset "KNOWN[$target]"
		{ hv_daemon_kill9; } 2>/dev/null
		if ! hv_daemon_start "${DFLAGS[@]}"; then
			violation restart "daemon did not restart after kill $kills: $(tail -5 "$HV_LOG" | tr '\n' ' ')"
			break
		fi
		resync "$interrupted"
	elif [ $rc != 0 ]; then
		if [ $op = create ] && grep -q 'no free address' <<<"$out"; then
			refused=$((refused + 1))
		else
			failed_clean=$((failed_clean + 1))
			violation ops "op $n $op ${target:-} failed without a kill: $(tail -2 <<<"$out" | tr '\n' ' ')"
		fi
	else
		case $op in
		create)
			ip=$(tail -1 <<<"$out")
			if [[ $ip =~ ^10\.103\.0\.[0-9]+$ ]]; then KNOWN[$ip]=1; else
				violation ops "op $n create printed no address: $out"
			fi
			;;
		destroy) unset "KNOWN[$target]" ;;
		esac
	fi
	[ $((n % 25)) = 0 ] && checkpoint "after op $n"
done
[ $((ops % 25)) = 0 ] || checkpoint "after op $ops"
echo "# ops done: $ops (create ${NOPS[create]:-0}, start ${NOPS[start]:-0}, stop ${NOPS[stop]:-0}, destroy ${NOPS[destroy]:-0}) in $(($(date +%s) - t0)) s"
echo "# kills: $kills ($kills_in_op interrupted an operation), VMs adopted from interrupted creates: $adopted, creates refused for a full pool: $refused"
cleaned=$(cat "$HV_DIR"/daemon-log/* 2>/dev/null | grep -c 'unfinished create or destroy\|removed the volumes of VM\|temporary file left by a crash')
echo "# checkpoints: $checkpoints, VMs at the end: ${#KNOWN[@]}, leftovers the restarts removed: $cleaned"
echo "# violations: $violations"
t_expect "$ops operations, $kills kills -9" "^$OPS\$" echo "$ops"
t_check "some kills landed inside an operation" test "$kills_in_op" -gt 0
for cat in lost:"no VM lost, duplicated or from nowhere" domains:"libvirt domains match the VMs' states" \
	pool:"address pool + VMs' addresses = the initial pool, nothing twice" \
	orphans:"no orphan volume or VM directory" files:"every state file parses, no temporaries" \
	checkvms:"hypervisor check-vms reports nothing" ops:"operations not interrupted succeed" \
	restart:"the daemon restarts after every kill"; do
	k=${cat%%:*}
	if [ "${VCOUNT[$k]:-0}" = 0 ]; then t_ok "${cat#*:}"; else t_fail "${cat#*:}" "${VCOUNT[$k]} violations"; fi
done

# Destroying every VM brings the pool back to the initial pool, all free.
for ip in "${!KNOWN[@]}"; do
	vmc destroy-vm "$ip" >/dev/null 2>&1 && unset "KNOWN[$ip]"
done
t_expect "every VM destroyed" '^0$' echo "${#KNOWN[@]}"
t_expect "all addresses free again" "^$(md5sum <<<"$POOL0" | cut -c1-32)\$" bash -c \
	"jq -r '.Free[] | \"\(.IpAddress) \(.MacAddress)\"' '$HV_STATE/address-pool.json' | tr A-F a-f | sort | md5sum | cut -c1-32"
t_expect "volume directory empty" '^$' ls -A "$HV_DIR/volumes"
t_expect "no domain left" '^$' bash -c "virsh -q -c '$HV_URI' list --name | grep '^hv-' || true"

# ---- full state disk: the state directory on a small tmpfs ----
hv_daemon_stop || hv_daemon_kill9
mv "$HV_STATE" "$HV_DIR/state.crash" && mkdir "$HV_STATE"
mount -t tmpfs -o size=1m,mode=0755 "${SS_ID}state" "$HV_STATE" || { t_fail "tmpfs for the state directory"; exit 0; }
unmount_state() { hv_daemon_kill9; umount "$HV_STATE" || umount -l "$HV_STATE"; }
t_cleanup unmount_state
cp -a "$HV_DIR/state.crash/." "$HV_STATE/"
hv_daemon_start "${DFLAGS[@]}" || { t_fail "daemon starts on the tmpfs" "$(tail -5 "$HV_LOG")"; exit 0; }
V=$(vmc -memory=16M -milliCPUs=10 -minFreeBytes=1M -vmTags=Name=full create-vm 2>&1 | tail -1)
t_expect "a VM for the tag change" '^10\.103\.0\.' echo "$V"
sums() { (cd "$HV_STATE" && find . -type f ! -name zz-filler ! -name root-cookie -print0 | sort -z | xargs -0 md5sum); }
before=$(sums)
dd if=/dev/zero of="$HV_STATE/zz-filler" bs=4k 2>/dev/null
avail=$(df --output=avail -B1 "$HV_STATE" | tail -1 | tr -d ' ')
t_expect "state tmpfs full" '^0$' echo "$avail"
full_ok=0
fullcase() { # NAME CMD...: must fail (exit 1 or an Error answer), not crash, naming the full disk
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ge 126 ]; then out="exit $rc (a signal or timeout kill): $out"
	elif [ $rc != 0 ] || grep -q '"Error":"[^"]' <<<"$out"; then :; else out="succeeded: $out"; fi
	if [ $rc -lt 126 ] && grep -q 'No space left on device' <<<"$out"; then
		t_ok "full disk: $name fails: $(grep -o '[^"]*No space left on device' <<<"$out" | head -1)"
		full_ok=$((full_ok + 1))
	else
		t_fail "full disk: $name fails with a clear error" "$(tail -2 <<<"$out" | tr '\n' ' ')"
	fi
}
fullcase ChangeAddressPool rpc Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.103.0.30","MacAddress":"52:54:00:67:00:1e"}]}'
fullcase UpdateSubnets rpc Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"d","IpGateway":"10.104.0.1","IpMask":"255.255.255.0"}]}'
fullcase create-vm vmc -memory=16M -milliCPUs=10 -minFreeBytes=1M -vmTags=Name=full2 create-vm
fullcase change-vm-tags vmc -tags=Name=renamed change-vm-tags "$V"
t_check "full disk: the daemon is alive" kill -0 "$HV_PID"
t_expect "full disk: it still answers" '^OK$' hv_curl healthz
t_expect "full disk: every state file byte-identical" "^$(md5sum <<<"$before" | cut -c1-32)\$" \
	bash -c "cd '$HV_STATE' && find . -type f ! -name zz-filler ! -name root-cookie -print0 | sort -z | xargs -0 md5sum | md5sum | cut -c1-32"
t_expect "full disk: no temporary file left" '^$' find "$HV_STATE" -name '*~'
t_check "full disk: every state file parses" bash -c "find '$HV_STATE' -name '*.json' -print0 | xargs -0 -n1 jq empty"
t_expect "full disk: only the one VM" "^$V\$" vmc list-vms
rm -f "$HV_STATE/zz-filler"
t_expect "space freed: ChangeAddressPool" '"Error":""' rpc Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.103.0.30","MacAddress":"52:54:00:67:00:1e"}]}'
t_expect "space freed: UpdateSubnets" '"Error":""' rpc Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"d","IpGateway":"10.104.0.1","IpMask":"255.255.255.0"}]}'
V2=$(vmc -memory=16M -milliCPUs=10 -minFreeBytes=1M -subnetId=c -vmTags=Name=full2 create-vm 2>&1 | tail -1)
t_expect "space freed: create-vm" '^10\.103\.0\.' echo "$V2"
t_check "space freed: change-vm-tags" vmc -tags=Name=renamed change-vm-tags "$V"
t_expect "...tags stored" 'renamed' cat "$HV_STATE/VMs/$V/info.json"
t_expect "the new address and subnet are recorded" '10.103.0.30' cat "$HV_STATE/address-pool.json"
out=$(check_vms 2>&1)
t_expect "check-vms after the full disk: nothing to report" '^0:$' echo "$?:$out"
echo "# full disk: $full_ok of 4 operations failed cleanly, state intact, all 4 succeeded after freeing space"
