#!/usr/bin/env bash
# timeout: 180
# GetVmVolume in the original's wire form against the daemon (libvirt's test driver):
# the bytes the Go client sends (tests/lib/getvolume_raw.py: the request, then
# {"BlockOrder":O,"NumBlocks":K} and K SHA-512 hashes) and the Block headers the
# server must answer, byte for byte: the whole volume as one block when the client has
# nothing, only the changed blocks when it has a copy, the end block, a bad block
# order refused in a Block's Error; each time the next call on the same connection
# still works. Refusals (no access, index, separate kernel) and the kernel and initrd
# in ExtraFiles. A running VM is served. vm-control get-vm-volume: a fresh copy, then
# an update of an existing copy, identical to the volume.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require openssl "test certificates are made with openssl"
t_require python3 "the Go client's bytes are sent by a python script"

hv_setup "${SS_ID}br" 10.103.0.1/24 || exit 0
hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_expect "subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"t","IpGateway":"10.103.0.1","IpMask":"255.255.255.0"}]}'
t_expect "addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.103.0.10","MacAddress":"52:54:00:67:00:0a"}]}'
VM=$(vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=t -vmTags=Name=w -doNotStart create-vm 2>&1)
[ "$VM" = 10.103.0.10 ] || { t_fail "admin creates a stopped VM" "$VM"; exit 0; }
t_ok "admin creates a stopped VM with a 1 MiB root"
ROOT=$HV_DIR/volumes/$VM/root
SIZE=$(stat -c %s "$ROOT")
head -c "$SIZE" /dev/urandom >"$HV_DIR/content"
dd if="$HV_DIR/content" of="$ROOT" conv=notrunc status=none
OUT=$HV_DIR/out

raw() { # WHO ARGS...: getvolume_raw.py as WHO against the daemon
	local who=$1
	shift
	hv_ns python3 "$SS_TOP/tests/lib/getvolume_raw.py" --cert "$C/$who/$who.cert" \
		--key "$C/$who/$who.key" --ca "$C/ca/ca.pem" "127.0.0.1:$HV_PORT" "$VM" "$@"
}

# 1 MiB: order 20 >> 1 = 10, 1 KiB blocks. No local copy: NumBlocks 0, so one block
# of the whole volume, then the end block.
r=$(raw admin 0 "$SIZE" "$OUT" 2>&1)
t_expect "reply: no error" '^\{"Error":""' echo "$r"
t_expect "fresh copy: the whole volume in one block" \
	"^BLOCK \\{\"Error\":\"\",\"Index\":0,\"Size\":$SIZE\\}\$" echo "$r"
t_expect "fresh copy: then the end block" '^BLOCK \{"Error":"","Index":0,"Size":0\}$' echo "$r"
t_expect "fresh copy: exactly two blocks" '^2$' bash -c "grep -c '^BLOCK' <<<'$r'"
t_check "fresh copy: the bytes of the volume" cmp "$OUT" "$ROOT"
t_expect "fresh copy: the next call on the connection works" "^NEXT \\{\"VmInfo\":.*\"IpAddress\":\"$VM\"" echo "$r"

# A copy with blocks 3 and 700 changed: exactly those come back, then the tail block
# (Index = NumBlocks = 1024, Size 0) ends the exchange.
cp "$HV_DIR/content" "$HV_DIR/have"
printf 'XX' | dd of="$HV_DIR/have" bs=1 seek=$((3 * 1024 + 5)) conv=notrunc status=none
printf 'YY' | dd of="$HV_DIR/have" bs=1 seek=$((700 * 1024)) conv=notrunc status=none
r=$(raw admin 0 "$SIZE" "$OUT" --have "$HV_DIR/have" 2>&1)
t_expect "delta: block 3 sent" '^BLOCK \{"Error":"","Index":3,"Size":1024\}$' echo "$r"
t_expect "delta: block 700 sent" '^BLOCK \{"Error":"","Index":700,"Size":1024\}$' echo "$r"
t_expect "delta: the empty tail block ends it" '^BLOCK \{"Error":"","Index":1024,"Size":0\}$' echo "$r"
t_expect "delta: three blocks in all" '^3$' bash -c "grep -c '^BLOCK' <<<'$r'"
t_check "delta: the copy equals the volume" cmp "$OUT" "$ROOT"
t_expect "delta: the next call works" '^NEXT \{"VmInfo"' echo "$r"

# An identical copy: nothing but the end.
r=$(raw admin 0 "$SIZE" "$OUT" --have "$ROOT" 2>&1)
t_expect "identical copy: only the end block" '^1$' bash -c "grep -c '^BLOCK' <<<'$r'"

# Bad block order (NumBlocks 0, so nothing follows): a Block with the Error, and the
# connection stays usable.
r=$(raw admin 0 "$SIZE" "$OUT" --order 5 2>&1)
t_expect "bad block order: refused in the Block" '^BLOCK \{"Error":"bad block order","Index":0,"Size":0\}$' echo "$r"
t_expect "bad block order: the next call works" '^NEXT \{"VmInfo"' echo "$r"

# Refusals in the reply's Error (the original's texts).
t_expect_fail --exit=1 "alice has no access" '^\{"Error":"no access to resource"' raw user 0 "$SIZE" "$OUT"
t_expect_fail --exit=1 "index too large" '^\{"Error":"index too large"' raw admin 9 "$SIZE" "$OUT"
echo KERNEL >"$HV_DIR/volumes/$VM/kernel"
echo INITRD >"$HV_DIR/volumes/$VM/initrd"
t_expect_fail --exit=1 "separate initrd needs GetExtraFiles or IgnoreExtraFiles" \
	'^\{"Error":"cannot get root volume with separate initrd"' raw admin 0 "$SIZE" "$OUT"
t_expect "GetExtraFiles: kernel and initrd in ExtraFiles" \
	'"ExtraFiles":\{"initrd":"SU5JVFJECg==","kernel":"S0VSTkVMCg=="\}' \
	raw admin 0 "$SIZE" "$OUT" --extra '{"GetExtraFiles":true}'
t_expect "IgnoreExtraFiles: served without them" '^BLOCK \{"Error":"","Index":0,"Size":0\}$' \
	raw admin 0 "$SIZE" "$OUT" --extra '{"IgnoreExtraFiles":true}'
rm -f "$HV_DIR/volumes/$VM/kernel" "$HV_DIR/volumes/$VM/initrd"

# The original serves running VMs (migration's first pass).
t_check "start the VM" vmc admin start-vm "$VM"
r=$(raw admin 0 "$SIZE" "$OUT" 2>&1)
t_expect "running VM: served" "^BLOCK \\{\"Error\":\"\",\"Index\":0,\"Size\":$SIZE\\}\$" echo "$r"
t_check "running VM: the bytes" cmp "$OUT" "$ROOT"
t_check "stop the VM" vmc admin stop-vm "$VM"

# Our client.
rm -f "$OUT"
t_check "vm-control get-vm-volume: a fresh copy" vmc admin -volumeFilename="$OUT" get-vm-volume "$VM"
t_check "vm-control: the copy equals the volume" cmp "$OUT" "$ROOT"
printf 'ZZZZ' | dd of="$ROOT" bs=1 seek=4096 conv=notrunc status=none
t_expect "vm-control: an update sends one block of 1 KiB" 'received 1024/' \
	vmc admin -volumeFilename="$OUT" get-vm-volume "$VM"
t_check "vm-control: the updated copy equals the volume" cmp "$OUT" "$ROOT"
t_expect_fail "vm-control: alice has no access" 'no access to resource|no VM with IP address' \
	vmc user -volumeFilename="$HV_DIR/alice" get-vm-volume "$VM"
t_check "the daemon still runs" kill -0 "$HV_PID"
t_check "hypervisor stops" hv_daemon_stop
