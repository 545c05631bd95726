#!/usr/bin/env bash
# timeout: 300
# VMs moving on one host, against libvirt's in-process test driver: ExportLocalVm from
# daemon A, ImportLocalVm into daemon B (a second daemon with its own state, volume
# directory and network namespace, volume files on the same file system), then
# CommitImportedVm, as the original's vm-control export-local-vm / import-local-vm
# drive them; the volume files checked byte for byte (sha256) on both sides, the
# address pools on disk, the refusals (wrong or missing cookie, off loopback,
# non-owner, double import, files outside a volume directory, an address of B's pool,
# a second commit), an uncommitted VM across a restart of B, and abandon. Then
# ChangeVmSubnet and ChangeVmVolumeStorageIndex on A: files moved (same bytes, old
# names gone), records and pool on disk, and their refusals ("VM is not stopped" for a
# running VM, as the original).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "the daemons' health is polled with curl"
t_require openssl "test certificates are made with openssl"
t_require jq "replies are taken apart with jq"

hv_setup "${SS_ID}br" 10.102.0.1/24 || exit 0
NSB=${SS_ID}hvb
ip netns add "$NSB" || { t_fail "second namespace"; exit 0; }
stop_b() {
	[ -n "${B_PID:-}" ] && kill -9 "$B_PID" 2>/dev/null && wait "$B_PID" 2>/dev/null
	B_PID=
	cp "$HV_DIR/daemonB.out" "$SS_TOP/build/test-logs/hv_local-hypervisorB.out" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
t_cleanup stop_b
ip netns exec "$NSB" ip link set lo up
ip netns exec "$NSB" ip link add "${SS_ID}br" type bridge
ip netns exec "$NSB" ip addr add 10.102.0.1/24 dev "${SS_ID}br"
ip netns exec "$NSB" ip link set "${SS_ID}br" up

VA=$HV_DIR/volumes VA2=$HV_DIR/volumes2 VB=$HV_DIR/volB SB=$HV_DIR/stateB
mkdir -p "$VA2" "$VB" "$SB"

# daemon NS STATE VOLUMES LOG: starts a hypervisor, prints its pid once /healthz answers.
daemon() {
	local ns=$1 pid i
	ip netns exec "$ns" "$SS_BIN/hypervisor" -stateDir="$2" -volumeDirectories="$3" \
		-logDir="$2-log" -libvirtURI=test:///default -portNum="$HV_PORT" -virtType=qemu \
		-stopTimeout=2s -CAfile="$C/ca/ca.pem" -identityCAfile="$C/idca/ca.pem" \
		-certFile="$C/server/cert.pem" -keyFile="$C/server/key.pem" >>"$4" 2>&1 &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if ip netns exec "$ns" curl -sf --max-time 5 "http://127.0.0.1:$HV_PORT/healthz" >/dev/null 2>&1; then
			echo "$pid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
stop_b_daemon() { # "hypervisor stop", then wait for it to exit
	local i
	"$SS_BIN/hypervisor" -stateDir="$SB" stop || return 1
	for ((i = 0; i < 100; i++)); do kill -0 "$B_PID" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}
HV_STATE=$HV_DIR/state HV_LOG=$HV_DIR/daemon.out
HV_PID=$(daemon "$HV_NS" "$HV_STATE" "$VA,$VA2" "$HV_LOG") || { t_fail "daemon A starts" "$(tail -5 "$HV_LOG")"; exit 0; }
B_PID=$(daemon "$NSB" "$SB" "$VB" "$HV_DIR/daemonB.out") || { t_fail "daemon B starts" "$(tail -5 "$HV_DIR/daemonB.out")"; exit 0; }
t_ok "daemons A and B start (two namespaces, one file system)"

rpcb_at() {
	local addr=$1 who=$2
	shift 2
	ip netns exec "$NSB" "$SS_BIN/srpc-testc" -addr="$addr" -serverName=localhost -certFile="$C/$who/$who.cert" \
		-keyFile="$C/$who/$who.key" -CAfile="$C/ca/ca.pem" -timeout=30s call "$@"
}
rpcb() { rpcb_at "127.0.0.1:$HV_PORT" "$@"; }
vmcb() {
	local who=$1
	shift
	ip netns exec "$NSB" "$SS_BIN/vm-control" -certDirectory="$C/$who" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 -dhcpTimeout=0 "$@"
}
sum() { sha256sum "$1" | cut -d' ' -f1; }
b64() { base64 -w0 "$1"; }
field() { jq -r "$1" <<<"$2"; }

subnets='{"Add":[{"Id":"w","IpGateway":"10.102.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.102.0.1"]}'
rpc admin Hypervisor.UpdateSubnets "$subnets,{\"Id\":\"x\",\"IpGateway\":\"10.103.0.1\",\"IpMask\":\"255.255.255.0\"}]}" >/dev/null
rpc admin Hypervisor.ChangeAddressPool '{"AddressesToAdd":[
	{"IpAddress":"10.102.0.10","MacAddress":"52:54:00:66:00:0a"},{"IpAddress":"10.102.0.11","MacAddress":"52:54:00:66:00:0b"},
	{"IpAddress":"10.102.0.12","MacAddress":"52:54:00:66:00:0c"},{"IpAddress":"10.102.0.13","MacAddress":"52:54:00:66:00:0d"},{"IpAddress":"10.103.0.10","MacAddress":"52:54:00:67:00:0a"}]}' >/dev/null
rpcb admin Hypervisor.UpdateSubnets "$subnets]}" >/dev/null
rpcb admin Hypervisor.ChangeAddressPool '{"AddressesToAdd":[{"IpAddress":"10.102.0.20","MacAddress":"52:54:00:66:00:14"}]}' >/dev/null

# alice's VM on A: a root and a secondary volume, filled with random bytes on disk.
create() { vmc user -vmTags=Name="$1" -memory=64M -milliCPUs=100 -minFreeBytes=1M -secondaryVolumeSizes=1M -subnetId=w create-vm 2>&1 | tail -1; }
fill() { # IP: random bytes in both volume files
	dd if=/dev/urandom of="$VA/$1/root" bs=1M count=1 conv=notrunc 2>/dev/null
	dd if=/dev/urandom of="$VA/$1/secondary-volume.0" bs=1M count=1 conv=notrunc 2>/dev/null
}
V1=$(create v1)
if [[ ! $V1 =~ ^10\.102\.0\.1[0-3]$ ]]; then
	t_fail "alice creates a VM on A" "$V1"
	exit 0
fi
fill "$V1"
SUM_ROOT=$(sum "$VA/$V1/root") SUM_SEC=$(sum "$VA/$V1/secondary-volume.0")
t_ok "alice creates a VM on A with two volumes ($V1), random bytes written"
COOKIE=$(b64 "$HV_STATE/root-cookie")
ZERO=$(head -c 32 /dev/zero | base64 -w0)

# ---- ExportLocalVm ----
t_expect "export of a running VM refused: VM is not stopped" '"Error":"VM is not stopped"' \
	rpc user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V1\",\"VerificationCookie\":\"$COOKIE\"}"
t_check "stop the VM" vmc user stop-vm "$V1"
t_expect "export with a wrong cookie refused" '"Error":"bad verification cookie: you are not root"' \
	rpc user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V1\",\"VerificationCookie\":\"$ZERO\"}"
t_expect "export without a cookie refused" '"Error":"bad verification cookie: you are not root"' \
	rpc user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V1\"}"
t_expect_fail "export from off loopback refused (the right cookie does not help)" 'access to method denied' \
	rpc_at "10.102.0.1:$HV_PORT" user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V1\",\"VerificationCookie\":\"$COOKIE\"}"
t_expect "export by a non-owner refused" '"Error":"no access to resource"' \
	rpc idonly Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V1\",\"VerificationCookie\":\"$COOKIE\"}"
EXP=$(rpc user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V1\",\"VerificationCookie\":\"$COOKIE\"}" 2>&1)
t_expect "export: no error, the VM's bridge, state exporting" "^ ${SS_ID}br exporting $V1\$" \
	field '[.Error, (.VmInfo.Bridges | join(",")), .VmInfo.State, .VmInfo.Address.IpAddress] | join(" ")' "$EXP"
t_expect "export: the volume file names (LocalVmInfo.VolumeLocations)" "^$VA/$V1/root $VA/$V1/secondary-volume.0\$" \
	field '[.VmInfo.VolumeLocations[].Filename] | join(" ")' "$EXP"
t_expect "A records the VM as exporting (info.json)" '^exporting$' jq -r .State "$HV_STATE/VMs/$V1/info.json"
t_expect "a second export refused: VM is not stopped" '"Error":"VM is not stopped"' \
	rpc user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V1\",\"VerificationCookie\":\"$COOKIE\"}"

# ---- ImportLocalVm into B ----
COOKIEB=$(b64 "$SB/root-cookie")
mkdir -p "$VB/import/t1/adir"
ln "$VA/$V1/root" "$VB/import/t1/root" && ln "$VA/$V1/secondary-volume.0" "$VB/import/t1/sec"
vminfo=$(field '.VmInfo | del(.VolumeLocations)' "$EXP")
imp() { # COOKIE FILES [VMINFO]
	jq -c --arg c "$1" --argjson f "$2" '. + {VerificationCookie: $c, VolumeFilenames: $f}' <<<"${3:-$vminfo}"
}
FILES="[\"$VB/import/t1/root\",\"$VB/import/t1/sec\"]"
t_expect "import with a wrong cookie refused" '"Error":"bad verification cookie: you are not root"' \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$ZERO" "$FILES")"
t_expect "import with A's cookie refused (B has its own)" '"Error":"bad verification cookie: you are not root"' \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIE" "$FILES")"
t_expect_fail "import from off loopback refused" 'access to method denied' \
	rpcb_at "10.102.0.1:$HV_PORT" user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "$FILES")"
t_expect "import of a file outside B's volume directories refused" "\"Error\":\"$VA/$V1/root not in a volume directory\"" \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "[\"$VA/$V1/root\"]")"
t_expect "import of a file that does not exist refused" "\"Error\":\"$VB/import/t1/none: No such file or directory\"" \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "[\"$VB/import/t1/none\"]")"
t_expect "import of a directory refused" "\"Error\":\"$VB/import/t1/adir is not a regular file\"" \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "[\"$VB/import/t1/adir\"]")"
inpool=$(jq -c '.Address = {IpAddress: "10.102.0.20", MacAddress: "52:54:00:66:00:99"}' <<<"$vminfo")
t_expect "import of an address in B's pool refused" '"Error":"10.102.0.20 is in address pool"' \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "$FILES" "$inpool")"
badmac=$(jq -c '.Address.MacAddress = "01:00:5e:00:00:01"' <<<"$vminfo")
t_expect "import of a multicast MAC refused" '"Error":"bad MAC address: 01:00:5e:00:00:01"' \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "$FILES" "$badmac")"
t_check "nothing left of the refused imports in B" bash -c "[ ! -e '$SB/VMs/$V1' ] && [ ! -e '$VB/$V1' ] && [ ! -e '$SB/VMs/10.102.0.20' ]"
t_expect "alice imports the exported VM into B" '^\{"Error":""\}$' rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "$FILES")"
INFO=$(rpcb user Hypervisor.GetVmInfo "{\"IpAddress\":\"$V1\"}" 2>&1)
t_expect "B: the VM arrived uncommitted and runs, alice its only owner, subnet w" '^true running alice w$' \
	field '[.VmInfo.Uncommitted, .VmInfo.State, (.VmInfo.OwnerUsers | join(",")), .VmInfo.SubnetId] | join(" ")' "$INFO"
t_expect "B: root volume has the bytes A had (sha256)" "^$SUM_ROOT\$" sum "$VB/$V1/root"
t_expect "B: secondary volume has the bytes A had (sha256)" "^$SUM_SEC\$" sum "$VB/$V1/secondary-volume.0"
t_expect "B: the volume sizes recorded from the files" '^1048576 1048576$' jq -r '[.Volumes[].Size] | join(" ")' "$SB/VMs/$V1/info.json"
t_check "B: the VM's address is not in B's pool before the commit" bash -c "! grep -q '\"$V1\"' '$SB/address-pool.json'"
t_expect "a second import of the same VM refused" "\"Error\":\"$V1 already exists\"" \
	rpcb user Hypervisor.ImportLocalVm "$(imp "$COOKIEB" "$FILES")"
t_expect "commit by a non-owner refused" '"Error":"no access to resource"' \
	rpcb idonly Hypervisor.CommitImportedVm "{\"IpAddress\":\"$V1\"}"
t_expect "alice commits" '^\{"Error":""\}$' rpcb user Hypervisor.CommitImportedVm "{\"IpAddress\":\"$V1\"}"
t_expect "B: committed (Uncommitted gone from info.json)" '^false$' jq -r '.Uncommitted // false' "$SB/VMs/$V1/info.json"
t_expect "B: the address is registered in B's pool, and not free" '^1 0$' \
	jq -r "[([.Registered[] | select(.IpAddress == \"$V1\")] | length), ([.Free[] | select(.IpAddress == \"$V1\")] | length)] | join(\" \")" "$SB/address-pool.json"
t_expect "a second commit refused" "\"Error\":\"$V1 is already committed\"" \
	rpcb user Hypervisor.CommitImportedVm "{\"IpAddress\":\"$V1\"}"
t_expect "A: destroy of the exported VM" '"Error":""' rpc user Hypervisor.DestroyVm "{\"IpAddress\":\"$V1\"}"
t_check "A: the exported VM's address left A's pool (not back in Free)" bash -c "! grep -q '\"$V1\"' '$HV_STATE/address-pool.json'"
t_check "A: VM directory and volumes gone" bash -c "[ ! -e '$HV_STATE/VMs/$V1' ] && [ ! -e '$VA/$V1' ]"
t_expect "B: the volumes are whole after A let go" "^$SUM_ROOT $SUM_SEC\$" \
	bash -c "echo \$(sha256sum '$VB/$V1/root' '$VB/$V1/secondary-volume.0' | cut -d' ' -f1)"

# ---- vm-control export-local-vm | import-local-vm, as an operator runs them ----
V2=$(create v2)
fill "$V2"
SUM2=$(sum "$VA/$V2/root")
cat >"$HV_DIR/to-b.sh" <<EOF
#!/bin/sh
# -localVmCreate: the exported VM (JSON on stdin) into daemon B, committed there.
cat >"$HV_DIR/exported.json" || exit 1
root=\$(jq -r '.VolumeLocations[0].Filename' "$HV_DIR/exported.json")
echo commit | ip netns exec "$NSB" "$SS_BIN/vm-control" -certDirectory="$C/user" -CAfile="$C/ca/ca.pem" \
	-hypervisorHostname=127.0.0.1 import-local-vm "$HV_DIR/exported.json" "\$root"
EOF
chmod +x "$HV_DIR/to-b.sh"
t_expect "vm-control export-local-vm (running VM) hands it to import-local-vm on B; both commit" "Commit VM $V2" \
	bash -c "echo commit | ip netns exec '$HV_NS' '$SS_BIN/vm-control' -certDirectory='$C/user' -CAfile='$C/ca/ca.pem' \
		-hypervisorHostname=127.0.0.1 -localVmCreate='$HV_DIR/to-b.sh' export-local-vm $V2"
t_expect "B: the VM runs there, committed" '^running false$' \
	field '[.VmInfo.State, (.VmInfo.Uncommitted // false)] | join(" ")' "$(rpcb user Hypervisor.GetVmInfo "{\"IpAddress\":\"$V2\"}" 2>&1)"
t_expect "B: its root holds A's bytes" "^$SUM2\$" sum "$VB/$V2/root"
t_expect "A: the VM is gone" "no VM with IP address: $V2 found" rpc user Hypervisor.GetVmInfo "{\"IpAddress\":\"$V2\"}"
t_check "B: vm-control's import area is empty again" bash -c "[ -z \"\$(ls '$VB/import' | grep -v t1)\" ]"

# ---- an uncommitted VM across a restart of B; defer, then abandon ----
V3=$(create v3)
t_check "stop a third VM on A" vmc user stop-vm "$V3"
rpc user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$V3\",\"VerificationCookie\":\"$COOKIE\"}" | jq '.VmInfo' >"$HV_DIR/v3.json"
t_expect_fail "import-local-vm, deferred" 'you deferred committing your VM' \
	bash -c "echo defer | ip netns exec '$NSB' '$SS_BIN/vm-control' -certDirectory='$C/user' -CAfile='$C/ca/ca.pem' \
		-hypervisorHostname=127.0.0.1 import-local-vm '$HV_DIR/v3.json' '$VA/$V3/root'"
# What an import cut short by a crash leaves (VM directory without info.json, second
# names of the files): the next start removes it, the caller's file keeps its bytes.
mkdir -p "$SB/VMs/10.102.0.77" "$VB/10.102.0.77"
ln "$VA/$V3/root" "$VB/10.102.0.77/root"
SUM3=$(sum "$VA/$V3/root")
stop_b_daemon
B_PID=$(daemon "$NSB" "$SB" "$VB" "$HV_DIR/daemonB.out") || t_fail "daemon B restarts" "$(tail -5 "$HV_DIR/daemonB.out")"
t_expect "B restarted: the deferred VM is still there, uncommitted" '^true$' \
	field '.VmInfo.Uncommitted' "$(rpcb user Hypervisor.GetVmInfo "{\"IpAddress\":\"$V3\"}" 2>&1)"
t_check "B restarted: the half-done import is gone" bash -c "[ ! -e '$SB/VMs/10.102.0.77' ] && [ ! -e '$VB/10.102.0.77' ]"
t_expect "B restarted: ... and the file it had linked is untouched" "^$SUM3 2\$" \
	bash -c "echo \$(sha256sum '$VA/$V3/root' | cut -d' ' -f1) \$(stat -c %h '$VA/$V3/root')"
t_check "B restarted: nothing left of the import area" bash -c "[ -z \"\$(ls '$VB/import' | grep -v t1)\" ]"
t_expect "B: commit-imported-vm after the restart" '' vmcb user commit-imported-vm "$V3"
t_expect "B: committed" '^false$' jq -r '.Uncommitted // false' "$SB/VMs/$V3/info.json"
t_check "B: destroy it (committed: its address goes to B's free pool)" vmcb user destroy-vm "$V3"
t_expect "B: V3's address free in B's pool" '^1$' jq -r "[.Free[] | select(.IpAddress == \"$V3\")] | length" "$SB/address-pool.json"
t_expect_fail "import-local-vm of an address now in B's pool refused" "$V3 is in address pool" \
	bash -c "echo abandon | ip netns exec '$NSB' '$SS_BIN/vm-control' -certDirectory='$C/user' -CAfile='$C/ca/ca.pem' \
		-hypervisorHostname=127.0.0.1 import-local-vm '$HV_DIR/v3.json' '$VA/$V3/root'"
rpcb admin Hypervisor.ChangeAddressPool "{\"AddressesToRemove\":[{\"IpAddress\":\"$V3\"}]}" >/dev/null
t_expect_fail "import-local-vm, abandoned: the VM is destroyed on B" 'you abandoned your VM' \
	bash -c "echo abandon | ip netns exec '$NSB' '$SS_BIN/vm-control' -certDirectory='$C/user' -CAfile='$C/ca/ca.pem' \
		-hypervisorHostname=127.0.0.1 import-local-vm '$HV_DIR/v3.json' '$VA/$V3/root'"
t_check "B: nothing of the abandoned VM; A's file untouched" \
	bash -c "[ ! -e '$SB/VMs/$V3' ] && [ ! -e '$VB/$V3' ] && [ -s '$VA/$V3/root' ]"

# ---- ChangeVmSubnet (A) ----
V4=$(create v4)
fill "$V4"
S4R=$(sum "$VA/$V4/root") S4S=$(sum "$VA/$V4/secondary-volume.0")
t_expect "change subnet of a running VM refused" '"Error":"VM is not stopped"' \
	rpc user Hypervisor.ChangeVmSubnet "{\"IpAddress\":\"$V4\",\"SubnetId\":\"x\"}"
t_check "stop it" vmc user stop-vm "$V4"
t_expect "change subnet by a non-owner refused" '"Error":"no access to resource"' \
	rpc idonly Hypervisor.ChangeVmSubnet "{\"IpAddress\":\"$V4\",\"SubnetId\":\"x\"}"
t_expect "change to an unknown subnet refused" '"Error":"subnet: nope does not exist"' \
	rpc user Hypervisor.ChangeVmSubnet "{\"IpAddress\":\"$V4\",\"SubnetId\":\"nope\"}"
t_expect "change to its own subnet refused" '"Error":"VM is already in subnet: w"' \
	rpc user Hypervisor.ChangeVmSubnet "{\"IpAddress\":\"$V4\",\"SubnetId\":\"w\"}"
N4=$(vmc user -subnetId=x change-vm-subnet "$V4" 2>&1)
t_expect "vm-control change-vm-subnet prints the new address (subnet x)" '^10\.103\.0\.10$' echo "$N4"
IFS=. read -r o1 o2 o3 o4 <<<"$V4"
t_expect "the new record: address, subnet, old root label kept" "^$N4 x $(printf 'rootfs@%02x%02x%02x%02x' "$o1" "$o2" "$o3" "$o4")\$" \
	jq -r '[.Address.IpAddress, .SubnetId, .RootFileSystemLabel] | join(" ")' "$HV_STATE/VMs/$N4/info.json"
t_expect "the volumes moved to .../$N4 with their bytes" "^$S4R $S4S\$" \
	bash -c "echo \$(sha256sum '$VA/$N4/root' '$VA/$N4/secondary-volume.0' | cut -d' ' -f1)"
t_check "the old VM and volume directories are gone" bash -c "[ ! -e '$HV_STATE/VMs/$V4' ] && [ ! -e '$VA/$V4' ]"
t_expect "the record points at the new files" "^$VA/$N4/root $VA/$N4/secondary-volume.0\$" \
	jq -r '[.VolumeLocations[].Filename] | join(" ")' "$HV_STATE/VMs/$N4/info.json"
t_expect "the old address is free again, the new one is not" '^1 0$' \
	jq -r "[([.Free[] | select(.IpAddress == \"$V4\")] | length), ([.Free[] | select(.IpAddress == \"$N4\")] | length)] | join(\" \")" "$HV_STATE/address-pool.json"
t_expect "the DHCP lease moved to the new address" "^1 0\$" \
	bash -c "page=\$(ip netns exec '$HV_NS' curl -sS 'http://127.0.0.1:$HV_PORT/showDhcpStatus' | sed 's/&quot;/\\\"/g'); echo \$(grep -c '\"$N4\"' <<<\"\$page\") \$(grep -c '\"$V4\"' <<<\"\$page\")"
t_expect "the old address names no VM" "no VM with IP address: $V4 found" rpc user Hypervisor.GetVmInfo "{\"IpAddress\":\"$V4\"}"
t_check "the VM starts under its new address" vmc user start-vm "$N4"
t_expect "ChangeVmSubnet on the running VM refused again" '"Error":"VM is not stopped"' \
	rpc user Hypervisor.ChangeVmSubnet "{\"IpAddress\":\"$N4\",\"SubnetId\":\"w\"}"

# ---- ChangeVmVolumeStorageIndex (A) ----
t_expect "storage index change of a running VM refused" '"Error":"VM is not stopped"' \
	rpc user Hypervisor.ChangeVmVolumeStorageIndex "{\"IpAddress\":\"$N4\",\"VolumeIndex\":1,\"StorageIndex\":1}"
t_check "stop it" vmc user stop-vm "$N4"
t_expect "by a non-owner refused" '"Error":"no access to resource"' \
	rpc idonly Hypervisor.ChangeVmVolumeStorageIndex "{\"IpAddress\":\"$N4\",\"VolumeIndex\":1,\"StorageIndex\":1}"
t_expect "volume index out of range refused" '"Error":"invalid volume index"' \
	rpc user Hypervisor.ChangeVmVolumeStorageIndex "{\"IpAddress\":\"$N4\",\"VolumeIndex\":2,\"StorageIndex\":1}"
t_expect "storage index out of range refused" '"Error":"invalid storage index: 2' \
	rpc user Hypervisor.ChangeVmVolumeStorageIndex "{\"IpAddress\":\"$N4\",\"VolumeIndex\":1,\"StorageIndex\":2}"
t_check "vm-control moves the secondary volume to storage 1" \
	vmc user -volumeIndex=1 -storageIndex=1 change-vm-volume-storage-index "$N4"
t_expect "it is in the second volume directory with its bytes" "^$S4S\$" sum "$VA2/$N4/secondary-volume.0"
t_check "and gone from the first" test ! -e "$VA/$N4/secondary-volume.0"
t_expect "the record and GetVmVolumeStorageConfiguration agree" '"VolumeStorageIndices":\[0,1\]' \
	rpc user Hypervisor.GetVmVolumeStorageConfiguration "{\"IpAddress\":\"$N4\"}"
t_expect "info.json: the new location" "^$VA2/$N4 $VA2/$N4/secondary-volume.0\$" \
	jq -r '.VolumeLocations[1] | [.DirectoryToCleanup, .Filename] | join(" ")' "$HV_STATE/VMs/$N4/info.json"
echo kernel-bytes >"$VA/$N4/kernel"
echo initrd-bytes >"$VA/$N4/initrd"
t_expect "the root moves too (raw call)" '^\{"Error":""\}$' \
	rpc user Hypervisor.ChangeVmVolumeStorageIndex "{\"IpAddress\":\"$N4\",\"VolumeIndex\":0,\"StorageIndex\":1}"
t_expect "both volumes in the second directory, bytes unchanged; the first one's VM directory gone" "^$S4R $S4S gone\$" \
	bash -c "echo \$(sha256sum '$VA2/$N4/root' '$VA2/$N4/secondary-volume.0' | cut -d' ' -f1) \$([ -e '$VA/$N4' ] || echo gone)"
t_expect "...with the kernel and initrd of its direct boot (weaknesses #53)" '^kernel-bytes initrd-bytes$' \
	bash -c "echo \$(cat '$VA2/$N4/kernel' '$VA2/$N4/initrd')"
t_expect "a move to where the volume is changes nothing" '^\{"Error":""\}$' \
	rpc user Hypervisor.ChangeVmVolumeStorageIndex "{\"IpAddress\":\"$N4\",\"VolumeIndex\":0,\"StorageIndex\":1}"
t_check "the VM starts from its moved volumes" vmc user start-vm "$N4"

t_check "stop it" vmc user stop-vm "$N4"
t_check "daemon A stops cleanly" hv_daemon_stop
t_check "check-vms finds nothing on A" "$SS_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$VA,$VA2" \
	-libvirtURI=test:///default check-vms
t_check "daemon B stops cleanly" stop_b_daemon
t_check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$HV_LOG' '$HV_DIR/daemonB.out'"
