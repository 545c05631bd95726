#!/usr/bin/env bash
# timeout: 240
# VM volume methods of the hypervisor daemon against libvirt's test driver:
# AddVmVolumes, ChangeVmVolumeSize, DeleteVmVolume, ReorderVmVolumes, SnapshotVm,
# RestoreVmFromSnapshot, DiscardVmSnapshot, GetVmVolume (through vm-control). Each: what GetVmInfo reports and the
# files on disk after a success; refusals for a running VM (where the spec requires a
# stopped one), for a user without access, and for bad input, with nothing changed.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require openssl "test certificates are made with openssl"
t_require jq "GetVmInfo replies are read with jq"

hv_setup "${SS_ID}br" 10.102.0.1/24 || exit 0

info() { vmc admin get-vm-info "$VM"; }
# Volume sizes as GetVmInfo reports them, comma-separated.
sizes() { info | jq -r '[.Volumes[].Size] | map(tostring) | join(",")'; }
snaps() { info | jq -r '[.Volumes[] | (.Snapshots // {} | keys | join("+"))] | join(",")'; }
nsnaps() { info | jq '[.Volumes[] | .Snapshots // {} | length] | add'; }
files() { find "$HV_DIR/volumes/$VM" -mindepth 1 -maxdepth 1 ! -name '.*' -printf '%f\n' | sort | tr '\n' ' '; }
fsize() { stat -c %s "$HV_DIR/volumes/$VM/$1"; }
head4() { head -c 4 "$HV_DIR/volumes/$VM/$1"; }
poke() { printf '%s' "$2" | dd of="$HV_DIR/volumes/$VM/$1" conv=notrunc status=none; }
unchanged() { # NAME: GetVmInfo volumes and the file list are what they were
	t_expect "$1: GetVmInfo unchanged" "^$(sizes_re "$S0")\$" sizes
	t_expect "$1: files unchanged" "^$(sizes_re "$F0")\$" files
}
sizes_re() { local re=${1//./\\.}; printf '%s\n' "${re//+/\\+}"; }
remember() { S0=$(sizes); F0=$(files); }

hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_expect "subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"t","IpGateway":"10.102.0.1","IpMask":"255.255.255.0"}]}'
t_expect "addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.102.0.10","MacAddress":"52:54:00:66:00:0a"}]}'
VM=$(vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=t -vmTags=Name=v -doNotStart create-vm 2>&1)
[ "$VM" = 10.102.0.10 ] || { t_fail "admin creates a stopped VM" "$VM"; exit 0; }
t_ok "admin creates a stopped VM"
t_expect "one 1 MiB root volume" '^1048576$' sizes

# ---- AddVmVolumes ----
remember
t_expect_fail "add: alice has no access" 'no access to resource' vmc user -volumeSizes=2M add-vm-volumes "$VM"
t_expect "add: size 0 refused" 'size must be greater than 0' \
	rpc admin Hypervisor.AddVmVolumes "{\"IpAddress\":\"$VM\",\"VolumeSizes\":[0]}"
t_expect "add: no sizes refused" 'no volume sizes' rpc admin Hypervisor.AddVmVolumes "{\"IpAddress\":\"$VM\"}"
t_expect "add: more than the disk refused" 'no space' \
	rpc admin Hypervisor.AddVmVolumes "{\"IpAddress\":\"$VM\",\"VolumeSizes\":[1048576,1125899906842624]}"
unchanged "add refusals (the fitting first volume was not left behind)"
t_check "add 2 MiB and 3 MiB volumes" vmc admin -volumeSizes=2M,3M add-vm-volumes "$VM"
t_expect "add: GetVmInfo reports three volumes" '^1048576,2097152,3145728$' sizes
t_expect "add: files allocated" '^2097152 3145728$' echo "$(fsize secondary-volume.0) $(fsize secondary-volume.1)"
t_expect "add: info.json records the locations" 'secondary-volume\.1"' cat "$HV_STATE/VMs/$VM/info.json"
t_check "start the VM" vmc admin start-vm "$VM"
remember
t_expect_fail "add: refused while running" 'not stopped' vmc admin -volumeSizes=1M add-vm-volumes "$VM"

# ---- refusals while running, for the others ----
t_expect_fail "resize: refused while running" 'not stopped' \
	vmc admin -volumeIndex=1 -volumeSize=4M change-vm-volume-size "$VM"
t_expect_fail "delete: refused while running" 'not stopped' vmc admin -volumeIndex=1 delete-vm-volume "$VM"
t_expect_fail "reorder: refused while running" 'not stopped' vmc admin -volumeIndices=0,2,1 reorder-vm-volumes "$VM"
t_expect_fail "snapshot: refused while running without force" 'not stopped' vmc admin -snapshotName=r snapshot-vm "$VM"
unchanged "running-VM refusals"
t_check "snapshot with -forceIfNotStopped (root only, unnamed)" \
	vmc admin -forceIfNotStopped -snapshotRootOnly snapshot-vm "$VM"
t_expect "forced snapshot: root.snapshot only" '^root\.snapshot$' bash -c "cd '$HV_DIR/volumes/$VM' && ls | grep snapshot"
t_expect "forced snapshot: GetVmInfo shows the unnamed snapshot of the root" '^,,$' snaps
t_expect "forced snapshot: its size" '"": 1048576' info
t_check "stop the VM" vmc admin stop-vm "$VM"

# ---- ChangeVmVolumeSize ----
remember
t_expect_fail "resize: alice has no access" 'no access to resource' \
	vmc user -volumeIndex=1 -volumeSize=4M change-vm-volume-size "$VM"
# The original's shrink2fs: no file-system and no partition table, nothing to shrink.
t_expect_fail "resize: shrinking a volume without a file-system refused" 'no DOS partition table found' \
	vmc admin -volumeIndex=1 -volumeSize=1M change-vm-volume-size "$VM"
t_expect_fail "resize: unknown index refused" 'invalid volume index' \
	vmc admin -volumeIndex=9 -volumeSize=4M change-vm-volume-size "$VM"
t_expect "resize: more than the disk refused" 'not enough free space' \
	rpc admin Hypervisor.ChangeVmVolumeSize "{\"IpAddress\":\"$VM\",\"VolumeIndex\":1,\"VolumeSize\":1125899906842624}"
unchanged "resize refusals"
t_expect "resize: file size unchanged" '^2097152$' fsize secondary-volume.0
t_check "resize volume 1 to 4 MiB" vmc admin -volumeIndex=1 -volumeSize=4M change-vm-volume-size "$VM"
t_expect "resize: GetVmInfo" '^1048576,4194304,3145728$' sizes
t_expect "resize: file grown" '^4194304$' fsize secondary-volume.0

# ---- ReorderVmVolumes ----
remember
t_expect_fail "reorder: alice has no access" 'no access to resource' vmc user -volumeIndices=0,2,1 reorder-vm-volumes "$VM"
t_expect_fail "reorder: duplicate index refused" 'duplicate volume index: 1' vmc admin -volumeIndices=0,1,1 reorder-vm-volumes "$VM"
t_expect_fail "reorder: index too large refused" 'volume index: 3 too large' vmc admin -volumeIndices=0,1,3 reorder-vm-volumes "$VM"
t_expect_fail "reorder: wrong count refused" 'number of volume indices: 2 != number of volumes: 3' vmc admin -volumeIndices=0,1 reorder-vm-volumes "$VM"
unchanged "reorder refusals"
t_check "reorder 0,2,1" vmc admin -volumeIndices=0,2,1 reorder-vm-volumes "$VM"
t_expect "reorder: GetVmInfo" '^1048576,3145728,4194304$' sizes
# As the original: the files take their new places' names.
t_expect "reorder: files renamed to their places" '^root secondary-volume\.0 secondary-volume\.1$' \
	bash -c "jq -r '[.VolumeLocations[].Filename | split(\"/\") | last] | join(\" \")' '$HV_STATE/VMs/$VM/info.json'"
t_expect "reorder: the file sizes follow" '^3145728 4194304$' echo "$(fsize secondary-volume.0) $(fsize secondary-volume.1)"

# ---- DeleteVmVolume ----
remember
t_expect_fail "delete: alice has no access" 'no access to resource' vmc user -volumeIndex=2 delete-vm-volume "$VM"
t_expect "delete: root refused" 'cannot delete root volume' \
	rpc admin Hypervisor.DeleteVmVolume "{\"IpAddress\":\"$VM\",\"VolumeIndex\":0}"
t_expect_fail "delete: unknown index refused" 'volume index 7 too large' vmc admin -volumeIndex=7 delete-vm-volume "$VM"
unchanged "delete refusals"
t_check "delete volume 2 (secondary-volume.1, 4 MiB)" vmc admin -volumeIndex=2 delete-vm-volume "$VM"
t_expect "delete: GetVmInfo" '^1048576,3145728$' sizes
t_check "delete: its file is gone" test ! -e "$HV_DIR/volumes/$VM/secondary-volume.1"
t_expect "delete: the other volume stays" '^3145728$' fsize secondary-volume.0
t_check "add after delete reuses the free name" vmc admin -volumeSizes=1M add-vm-volumes "$VM"
t_expect "add after delete: GetVmInfo" '^1048576,3145728,1048576$' sizes
t_expect "add after delete: secondary-volume.1 again" '^1048576$' fsize secondary-volume.1

# ---- SnapshotVm ----
poke root AAAA
poke secondary-volume.1 XXXX
remember
t_expect_fail "snapshot: alice has no access" 'no access to resource' vmc user -snapshotName=s1 snapshot-vm "$VM"
t_expect_fail "snapshot: bad name refused" 'invalid snapshot name' vmc admin -snapshotName=a.b snapshot-vm "$VM"
t_expect_fail "snapshot: name with / refused" 'invalid snapshot name' vmc admin -snapshotName=a/b snapshot-vm "$VM"
unchanged "snapshot refusals"
t_check "snapshot s1 of every volume" vmc admin -snapshotName=s1 snapshot-vm "$VM"
t_expect "snapshot: GetVmInfo lists s1 for every volume" '^\+s1,s1,s1$' snaps
t_expect "snapshot: files" 'root\.snapshot:s1 .*secondary-volume\.0\.snapshot:s1 .*secondary-volume\.1\.snapshot:s1' files
t_expect "snapshot: copies hold the data" '^AAAA XXXX$' echo "$(head4 root.snapshot:s1) $(head4 secondary-volume.1.snapshot:s1)"
t_check "snapshot: no temporary files left" bash -c "! ls '$HV_DIR/volumes/$VM' | grep -q -- '-new'"

# ---- RestoreVmFromSnapshot ----
poke root BBBB
poke secondary-volume.1 YYYY
t_expect_fail "restore: alice has no access" 'no access to resource' vmc user -snapshotName=s1 restore-vm-from-snapshot "$VM"
t_expect_fail "restore: unknown snapshot refused" 'no snapshot named "nope"' vmc admin -snapshotName=nope restore-vm-from-snapshot "$VM"
t_expect "restore: data untouched by refusals" '^BBBB YYYY$' echo "$(head4 root) $(head4 secondary-volume.1)"
t_check "start the VM" vmc admin start-vm "$VM"
t_expect_fail "restore: refused while running without force" 'not stopped' vmc admin -snapshotName=s1 restore-vm-from-snapshot "$VM"
t_check "stop the VM" vmc admin stop-vm "$VM"
t_expect "restore s1 with Retain" '"Error":""' \
	rpc admin Hypervisor.RestoreVmFromSnapshot "{\"IpAddress\":\"$VM\",\"Name\":\"s1\",\"Retain\":true}"
t_expect "restore: volumes hold the snapshot's data" '^AAAA XXXX$' echo "$(head4 root) $(head4 secondary-volume.1)"
t_expect "restore with Retain keeps s1" '^\+s1,s1,s1$' snaps
t_check "restore with Retain keeps the files" test -e "$HV_DIR/volumes/$VM/root.snapshot:s1"
poke root CCCC
t_check "restore s1 (not retained)" vmc admin -snapshotName=s1 restore-vm-from-snapshot "$VM"
t_expect "restore: root back to the snapshot" '^AAAA$' head4 root
t_expect "restore: s1 gone from GetVmInfo" '^,,$' snaps
t_check "restore: s1 files gone" bash -c "! ls '$HV_DIR/volumes/$VM' | grep -q 'snapshot:s1'"
t_expect "restore: sizes kept" '^1048576,3145728,1048576$' sizes

# ---- DiscardVmSnapshot ----
remember
t_expect_fail "discard: alice has no access" 'no access to resource' vmc user discard-vm-snapshot "$VM"
t_expect_fail "discard: unknown snapshot refused" 'no snapshot named "s1"' vmc admin -snapshotName=s1 discard-vm-snapshot "$VM"
unchanged "discard refusals"
t_check "discard the unnamed snapshot" vmc admin discard-vm-snapshot "$VM"
t_expect "discard: GetVmInfo has no snapshots" '^,,$' snaps
t_expect "discard: no snapshots in GetVmInfo at all" '^0$' nsnaps
t_check "discard: root.snapshot gone" test ! -e "$HV_DIR/volumes/$VM/root.snapshot"

# ---- GetVmVolume (the GetBlocks exchange; its wire form: hv_getvolume_wire.sh) ----
OUT=$HV_DIR/fetched
t_expect_fail "get volume: alice has no access" 'no access to resource|no VM with IP address' \
	vmc user -volumeIndex=1 -volumeFilename="$OUT" get-vm-volume "$VM"
t_expect_fail "get volume: unknown index refused" 'volume index 9 too large' \
	vmc admin -volumeIndex=9 -volumeFilename="$OUT" get-vm-volume "$VM"
t_check "get volume 1" vmc admin -volumeIndex=1 -volumeFilename="$OUT" get-vm-volume "$VM"
t_check "get volume 1: the bytes of secondary-volume.0" cmp "$OUT" "$HV_DIR/volumes/$VM/secondary-volume.0"
rm -f "$OUT"
t_check "get volume 0" vmc admin -volumeFilename="$OUT" get-vm-volume "$VM"
t_check "get volume 0: the bytes of root" cmp "$OUT" "$HV_DIR/volumes/$VM/root"
echo KERNEL >"$HV_DIR/volumes/$VM/kernel"
t_expect_fail "snapshot refused with a separate kernel" 'separate kernel' vmc admin -snapshotName=k snapshot-vm "$VM"
rm -f "$HV_DIR/volumes/$VM/kernel"

# ---- persistence: a restarted daemon reports the same ----
remember
t_check "daemon stops" hv_daemon_stop
hv_daemon_start -virtType=qemu -stopTimeout=2s || t_fail "daemon restarts" "$(tail -5 "$HV_LOG")"
t_expect "after restart: same volumes" "^$(sizes_re "$S0")\$" sizes
t_check "check-vms finds nothing wrong" "$SS_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$HV_DIR/volumes" \
	-libvirtURI="$HV_URI" check-vms

t_check "destroy the VM" vmc admin destroy-vm "$VM"
t_check "its volume directory is gone" test ! -e "$HV_DIR/volumes/$VM"
t_check "hypervisor stops" hv_daemon_stop
