#!/usr/bin/env bash
# timeout: 300
# serial
# Wire compatibility with the original Go tools (issue 19), against libvirt's test
# driver: each request is the JSON the Go client writes (PascalCase fields, as
# encoding/json sends the proto/hypervisor structs) and each expected Error is the
# original's text, quoted from Cloud-Foundations/Dominator hypervisor/manager:
#   ChangeVmSize        vm.go changeVmMemory / changeVmCPUs / changeVmSize
#   ChangeAddressPool   addressPool.go addAddressesToPool, removeAddresses,
#                       getFreeAddress; subnets.go getSubnetAndAuth, updateSubnets
#   ReorderVmVolumes    vm.go reorderVmVolumes (files renamed to root /
#                       secondary-volume.N, indexToName in volumes.go)
#   ChangeVmVolumeSize  vm.go changeVmVolumeSize, volumes.go shrink2fs / grow2fs
#   GetUpdates          rpcd/getUpdates.go + registerExternalLeases.go: leases sent in
#                       a GetUpdatesRequest are the managed set, gone with the stream
# ChangeVmSize only needs a VM in the running state, not a booted guest: the original
# changes nothing live (a change of memory or of the vCPU count needs a stopped VM).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require openssl "test certificates are made with openssl"
t_require jq "GetVmInfo replies are read with jq"
t_require python3 "the GetUpdates stream is driven by tests/lib/srpc_raw.py"
t_require udhcpc "busybox udhcpc stands in for a machine with a managed external lease"
t_require mkfs.ext4 "volume resizing is checked on ext4 file-systems"
t_require debugfs "a file inside the volume's file-system is written and read with debugfs"
t_require resize2fs "the daemon resizes file-systems with resize2fs"
t_require losetup "a partitioned volume is resized through a loop device"

BR=${SS_ID}br
hv_setup "$BR" 10.106.0.1/24 || exit 0
hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts (test driver)"

# reply METHOD JSON WANT: the daemon's reply line is exactly WANT (else printed).
reply() {
	local got
	got=$(rpc admin "$1" "$2" 2>&1)
	[ "$got" = "$3" ] || { echo "got: $got"; return 1; }
}
err_is() { t_check "$1" reply "$3" "$4" "{\"Error\":\"$2\"}"; }
field() { vmc admin get-vm-info "$1" | jq -r "$2"; }

t_expect "subnets t and u" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"t","IpGateway":"10.106.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.106.0.1"]},{"Id":"u","IpGateway":"10.107.0.1","IpMask":"255.255.255.0"}]}'
err_is "UpdateSubnets: 'subnet: t already exists'" "subnet: t already exists" Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"t","IpGateway":"10.108.0.1","IpMask":"255.255.255.0"}]}'
err_is "UpdateSubnets: 'subnet: nope does not exist'" "subnet: nope does not exist" \
	Hypervisor.UpdateSubnets '{"Delete":["nope"]}'
err_is "UpdateSubnets: 'cannot delete hypervisor subnet'" "cannot delete hypervisor subnet" \
	Hypervisor.UpdateSubnets '{"Delete":["hypervisor"]}'
t_expect "pool: two addresses in t" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.106.0.10","MacAddress":"52:54:00:6a:00:0a"},{"IpAddress":"10.106.0.11","MacAddress":"52:54:00:6a:00:0b"}]}'

# ---- 1. ChangeVmSize (ChangeVmSizeRequest{IpAddress, MemoryInMiB, MilliCPUs, VirtualCPUs}) ----
VM=$(vmc admin -memory=64M -milliCPUs=100 -subnetId=t -minFreeBytes=1M -vmTags=Name=size create-vm 2>&1 | tail -1)
[ "$VM" = 10.106.0.10 ] || { t_fail "a running VM for ChangeVmSize" "$VM"; exit 0; }
t_expect "the VM runs" '^running$' field "$VM" .State
size() { printf '{"IpAddress":"%s"%s}' "$VM" "$1"; }
sized() { echo "$(field "$VM" .MemoryInMiB) $(field "$VM" .MilliCPUs) $(field "$VM" '.VirtualCPUs // 0')"; }
err_is "running: a request that changes nothing is taken" "" \
	Hypervisor.ChangeVmSize "$(size ',"MemoryInMiB":64,"MilliCPUs":100')"
err_is "running: a MilliCPUs change that keeps one vCPU is taken" "" \
	Hypervisor.ChangeVmSize "$(size ',"MilliCPUs":900')"
t_expect "... and recorded" '^64 900 0$' sized
err_is "running: going to 2 vCPUs: 'VM is not stopped'" "VM is not stopped" \
	Hypervisor.ChangeVmSize "$(size ',"MilliCPUs":1500')"
err_is "running: a memory change: 'VM is not stopped'" "VM is not stopped" \
	Hypervisor.ChangeVmSize "$(size ',"MemoryInMiB":128')"
t_expect "... the refusals changed nothing" '^64 900 0$' sized
# numSpecifiedVirtualCPUs rounds up: 2500 milli-CPUs need 3 vCPUs.
err_is "minimum vCPUs rounded up: 'VirtualCPUs must be at least 3'" "VirtualCPUs must be at least 3" \
	Hypervisor.ChangeVmSize "$(size ',"MilliCPUs":2500,"VirtualCPUs":2')"
t_check "stop the VM" vmc admin stop-vm "$VM"
err_is "stopped: memory changes, then the vCPU check fails" "VirtualCPUs must be at least 2" \
	Hypervisor.ChangeVmSize "$(size ',"MemoryInMiB":128,"MilliCPUs":2000,"VirtualCPUs":1')"
t_expect "... the memory change is kept (the original writes it, then returns the error)" \
	'^128 900 0$' sized
err_is "stopped: 2 vCPUs" "" Hypervisor.ChangeVmSize "$(size ',"MilliCPUs":1500,"VirtualCPUs":2')"
t_expect "... recorded" '^128 1500 2$' sized
err_is "more CPU than the host: 'insufficient unallocated CPU'" "insufficient unallocated CPU" \
	Hypervisor.ChangeVmSize "$(size ',"MilliCPUs":4000000,"VirtualCPUs":4000')"
err_is "more memory than the host: 'insufficient unallocated memory'" "insufficient unallocated memory" \
	Hypervisor.ChangeVmSize "$(size ',"MemoryInMiB":1073741824')"
t_expect "vm-control change-vm-size (the Go client's flags) on the stopped VM" '^$' \
	vmc admin -memory=96M change-vm-size "$VM"
t_expect "... recorded" '^96 1500 2$' sized

# ---- 2. Address pool (ChangeAddressPoolRequest, CreateVm) ----
t_check "the second address goes to a VM" \
	vmc admin -memory=32M -milliCPUs=100 -subnetId=t -minFreeBytes=1M -vmTags=Name=two -doNotStart create-vm
err_is "adding a VM's IP with another MAC: 'duplicate IP address'" "duplicate IP address: $VM" \
	Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[{\"IpAddress\":\"$VM\",\"MacAddress\":\"52:54:00:6a:00:77\"}]}"
err_is "adding a VM's MAC with another IP: 'duplicate MAC address'" "duplicate MAC address: 52:54:00:6a:00:0a" \
	Hypervisor.ChangeAddressPool '{"AddressesToAdd":[{"IpAddress":"10.106.0.77","MacAddress":"52:54:00:6a:00:0a"}]}'
err_is "removing an unknown IP: Go's map text" "IPs: map[10.106.0.99:{}] not in free pool" \
	Hypervisor.ChangeAddressPool '{"AddressesToRemove":[{"IpAddress":"10.106.0.99"}]}'
err_is "removing a VM's address: not in the free pool" "IPs: map[$VM:{}] not in free pool" \
	Hypervisor.ChangeAddressPool "{\"AddressesToRemove\":[{\"IpAddress\":\"$VM\",\"MacAddress\":\"52:54:00:6a:00:0a\"}]}"
err_is "several IPs: sorted as Go prints a map" "IPs: map[10.106.0.100:{} 10.106.0.99:{}] not in free pool" \
	Hypervisor.ChangeAddressPool '{"AddressesToRemove":[{"IpAddress":"10.106.0.99"},{"IpAddress":"10.106.0.100"}]}'
err_is "removing an unknown MAC" "MACs: map[52:54:00:6a:00:99:{}] not in free pool" \
	Hypervisor.ChangeAddressPool '{"AddressesToRemove":[{"MacAddress":"52:54:00:6a:00:99"}]}'
t_expect_fail "CreateVm with an empty pool: 'no free addresses in pool' (before choosing a subnet)" \
	'no free addresses in pool' vmc admin -memory=32M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=x create-vm
t_expect "one more address" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.107.0.10","MacAddress":"52:54:00:6b:00:0a"}]}'
t_expect_fail "CreateVm in an unknown subnet: 'subnet: nope does not exist'" \
	'subnet: nope does not exist' vmc admin -memory=32M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=x -subnetId=nope create-vm
t_expect_fail "CreateVm in a subnet without free addresses: 'no free address in subnet: t'" \
	'no free address in subnet: t' vmc admin -memory=32M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=x -subnetId=t create-vm

# ---- 3. ReorderVmVolumes and ChangeVmVolumeSize on the stopped VM ----
VD=$HV_DIR/volumes/$VM
vol() { printf '%s/%s' "$VD" "$1"; }
names() { vmc admin get-vm-info "$VM" >/dev/null && jq -r '[.VolumeLocations[].Filename | split("/") | last] | join(" ")' "$HV_STATE/VMs/$VM/info.json"; }
sizes() { field "$VM" '[.Volumes[].Size] | map(tostring) | join(",")'; }
t_check "add two volumes" vmc admin -volumeSizes=1M,2M add-vm-volumes "$VM"
printf AAAA | dd of="$(vol secondary-volume.0)" conv=notrunc status=none
printf BBBB | dd of="$(vol secondary-volume.1)" conv=notrunc status=none
reorder() { printf '{"IpAddress":"%s","VolumeIndices":[%s]}' "$VM" "$1"; }
err_is "reorder: count" "number of volume indices: 2 != number of volumes: 3" \
	Hypervisor.ReorderVmVolumes "$(reorder 0,1)"
err_is "reorder: duplicate" "duplicate volume index: 1" Hypervisor.ReorderVmVolumes "$(reorder 0,1,1)"
err_is "reorder: too large" "volume index: 5 too large" Hypervisor.ReorderVmVolumes "$(reorder 0,1,5)"
echo kernel >"$(vol kernel)"
err_is "reorder: the root moves with a separate kernel" "cannot reorder root volume with separate kernel" \
	Hypervisor.ReorderVmVolumes "$(reorder 1,0,2)"
rm -f "$(vol kernel)"
err_is "reorder [2,1]: the root is kept in place when not listed" "" Hypervisor.ReorderVmVolumes "$(reorder 2,1)"
t_expect "... sizes follow" '^1048576,2097152,1048576$' sizes
t_expect "... the files take their places' names" '^root secondary-volume\.0 secondary-volume\.1$' names
t_expect "... secondary-volume.0 holds the old second volume" '^BBBB AAAA$' \
	bash -c "echo \$(head -c4 '$(vol secondary-volume.0)') \$(head -c4 '$(vol secondary-volume.1)')"
err_is "DeleteVmVolume 1 (the Go client names the volume by index)" "" \
	Hypervisor.DeleteVmVolume "{\"IpAddress\":\"$VM\",\"VolumeIndex\":1}"
t_expect "... removed the right file: the volume that stays is AAAA" '^AAAA$' head -c4 "$(vol secondary-volume.1)"
t_check "... secondary-volume.0 is gone" test ! -e "$(vol secondary-volume.0)"
t_expect "... no stray files" '^root secondary-volume\.1 $' bash -c "ls '$VD' | tr '\n' ' '"

resize() { printf '{"IpAddress":"%s","VolumeIndex":%s,"VolumeSize":%s}' "$VM" "$1" "$2"; }
err_is "resize: unknown index: 'invalid volume index'" "invalid volume index" \
	Hypervisor.ChangeVmVolumeSize "$(resize 9 4194304)"
err_is "resize: a blank volume cannot shrink (shrink2fs)" "no DOS partition table found" \
	Hypervisor.ChangeVmVolumeSize "$(resize 1 524288)"
# ext4 directly on the volume.
t_check "volume 2: 64 MiB" vmc admin -volumeSizes=64M add-vm-volumes "$VM"
F=$(vol secondary-volume.1)
[ "$(names)" = "root secondary-volume.1 secondary-volume.0" ] && F=$(vol secondary-volume.0)
t_check "mkfs.ext4 on it, with a file" bash -c "mkfs.ext4 -q -F '$F' && echo hello-ext4 >'$HV_DIR/h' && debugfs -w -R 'write $HV_DIR/h hello' '$F'"
fsbytes() { dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block count/{c=$2} /^Block size/{s=$2} END{print c*s}'; }
t_check "start the VM" vmc admin start-vm "$VM"
err_is "running: the same size is fine" "" Hypervisor.ChangeVmVolumeSize "$(resize 2 67108864)"
err_is "running: a size change: 'VM is not stopped'" "VM is not stopped" \
	Hypervisor.ChangeVmVolumeSize "$(resize 2 33554432)"
t_check "stop the VM" vmc admin stop-vm "$VM"
err_is "shrink to 512 KiB: resize2fs's lower bound ('size: 524288 too small')" "size: 524288 too small" \
	Hypervisor.ChangeVmVolumeSize "$(resize 2 524288)"
err_is "shrink to 32 MiB" "" Hypervisor.ChangeVmVolumeSize "$(resize 2 33554432)"
t_expect "... the file is cut" '^33554432$' stat -c %s "$F"
t_expect "... the file-system was shrunk first" '^33554432$' fsbytes "$F"
t_check "... and is clean" e2fsck -fn "$F"
t_expect "... its file survived" '^hello-ext4$' debugfs -R 'cat /hello' "$F"
t_expect "... GetVmInfo" '^33554432$' field "$VM" '.Volumes[2].Size'
err_is "grow to 80 MiB" "" Hypervisor.ChangeVmVolumeSize "$(resize 2 83886080)"
t_expect "... the file-system grew with it (grow2fs)" '^83886080$' fsbytes "$F"
t_expect "... its file survived" '^hello-ext4$' debugfs -R 'cat /hello' "$F"

# A DOS partition table with one partition at 1 MiB: the partition follows the volume.
t_check "volume 3: 64 MiB" vmc admin -volumeSizes=64M add-vm-volumes "$VM"
P=$(jq -r '.VolumeLocations[3].Filename' "$HV_STATE/VMs/$VM/info.json")
mbr() { # sectors of partition 1, or write a table with N sectors
	python3 - "$P" "${1:-}" <<'EOF'
import struct, sys
path, n = sys.argv[1], sys.argv[2]
with open(path, "r+b") as f:
    if n:
        f.seek(446)
        f.write(bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + struct.pack("<II", 2048, int(n)))
        f.seek(510)
        f.write(b"\x55\xaa")
    else:
        f.seek(446 + 12)
        print(struct.unpack("<I", f.read(4))[0])
EOF
}
t_check "partition table + ext4 in partition 1" \
	bash -c "$(declare -f mbr); P='$P'; mbr 129024 && mkfs.ext4 -q -F -E offset=1048576 '$P' 64512"
partfs() { # the file-system size inside partition 1
	local d
	d=$(losetup --find --show --offset 1048576 "$P") || return 1
	fsbytes "$d"
	losetup -d "$d"
}
t_expect "... a 63 MiB file-system" '^66060288$' partfs
err_is "shrink into the partition's offset: 'size greater than existing partition'" \
	"size greater than existing partition" Hypervisor.ChangeVmVolumeSize "$(resize 3 524288)"
t_expect "... nothing changed" '^129024 67108864$' bash -c "echo \$($(declare -f mbr); P='$P' mbr) \$(stat -c %s '$P')"
err_is "shrink the partitioned volume to 40 MiB" "" Hypervisor.ChangeVmVolumeSize "$(resize 3 41943040)"
t_expect "... partition 1 ends with the volume (39 MiB from 1 MiB)" '^79872$' mbr
t_expect "... its file-system shrank to the partition" '^40894464$' partfs
err_is "grow it to 72 MiB" "" Hypervisor.ChangeVmVolumeSize "$(resize 3 75497472)"
t_expect "... partition 1 extended to the end (parted resizepart 1 100%)" '^145408$' mbr
t_expect "... its file-system grown" '^74448896$' partfs
t_check "no loop device left on the volume" bash -c "! losetup -j '$P' | grep -q ."

# ---- 4. Managed external leases (GetUpdatesRequest.RegisterExternalLeasesRequest) ----
hv_dhcp_machine "$BR" 52:54:00:6a:00:3c
# shellcheck disable=SC2120 # the callers here pass no udhcpc options
lease() { hv_lease "$@"; } # the machine's DHCP exchange: "hostname=... ip=... ."
updates() { # NAME LINE: stream NAME sends LINE and stays open until $HV_DIR/stop.NAME
	local out=$HV_DIR/updates.$1
	rm -f "$HV_DIR/stop.$1"
	hv_ns python3 "$SS_TOP/tests/lib/srpc_raw.py" -c "$C/admin/admin.cert" -k "$C/admin/admin.key" \
		--ca "$C/ca/ca.pem" --timeout 60 "127.0.0.1:$HV_PORT" get-updates "$2" "$HV_DIR/stop.$1" \
		>"$out" 2>&1 &
	UPID=$!
	for ((i = 0; i < 100; i++)); do
		[ -f "$out" ] && [ "$(wc -l <"$out")" -ge 2 ] && return 0
		sleep 0.1
	done
	cat "$out"
	return 1
}
close() { # NAME PID: ends stream NAME
	touch "$HV_DIR/stop.$1"
	wait "$2"
}
ext() { # IP [HOSTNAME]: a RegisterExternalLeasesRequest for the machine
	printf '{"Addresses":[{"IpAddress":"%s","MacAddress":"52:54:00:6a:00:3c"}]%s}' "$1" \
		"${2:+,\"Hostnames\":[\"$2\"]}"
}
t_expect "no lease before" '^\.$' lease
updates a "{\"RegisterExternalLeasesRequest\":$(ext 10.106.0.60 managed-one)}" ||
	t_fail "stream a" "$(cat "$HV_DIR/updates.a")"
PA=$UPID
t_expect "a GetUpdates stream: the full update first" \
	'^first update: .*HaveAddressPool.*HaveVMs' sed -n 1p "$HV_DIR/updates.a"
t_expect "... the GetUpdatesRequest with leases (the Fleet Manager's) is answered with an Update" \
	'^\{.*\}$' sed -n 2p "$HV_DIR/updates.a"
t_expect "while the stream is open the machine gets the managed lease" \
	'^hostname=managed-one ip=10\.106\.0\.60 \.$' lease
close a "$PA"
t_expect "the stream closed" '^closed$' tail -1 "$HV_DIR/updates.a"
gone() { for ((i = 0; i < 50; i++)); do [ "$(lease)" = . ] && return 0; sleep 0.2; done; return 1; }
t_check "once the stream ended the lease is gone" gone

t_expect "RegisterExternalLeases (not managed)" '^\{"Error":""\}$' \
	rpc admin Hypervisor.RegisterExternalLeases "$(ext 10.106.0.60 plain)"
updates b '{}' || t_fail "stream b" "$(cat "$HV_DIR/updates.b")"
close b "$UPID"
t_expect "a stream without leases ends: RegisterExternalLeases' lease stays" \
	'^hostname=plain ip=10\.106\.0\.60 \.$' lease

updates c "{\"RegisterExternalLeasesRequest\":$(ext 10.106.0.61)}" || t_fail "stream c" "$(cat "$HV_DIR/updates.c")"
PC=$UPID
t_expect "a managed set replaces the registered one wholesale (hostname: its IP)" \
	'^hostname=10\.106\.0\.61 ip=10\.106\.0\.61 \.$' lease
updates d "{\"RegisterExternalLeasesRequest\":$(ext 10.106.0.62 again)}" || t_fail "stream d" "$(cat "$HV_DIR/updates.d")"
PD=$UPID
t_expect "a second stream's set replaces the first's" '^hostname=again ip=10\.106\.0\.62 \.$' lease
close c "$PC"
sleep 1
t_expect "the end of the older stream leaves the newer stream's set" \
	'^hostname=again ip=10\.106\.0\.62 \.$' lease
close d "$PD"
t_check "the end of the stream that sent it removes it" gone

t_check "destroy the VMs" bash -c "$(declare -f vmc hv_ns); C='$C' HV_NS='$HV_NS' SS_BIN='$SS_BIN'; for v in \$(vmc admin list-vms); do vmc admin destroy-vm \$v || exit 1; done"
t_check "hypervisor stops" hv_daemon_stop
