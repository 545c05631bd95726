#!/usr/bin/env bash
# timeout: 600
# The hypervisor as the image server's client, with real processes over mTLS: an
# imageserver holding build/images/installer (stream vm) and build/images/pxe (stream
# pxe), published with imagetool; a hypervisor daemon under a private libvirt.
#  - vm-control create-vm -imageName vm boots a VM from its raw root volume
#    (SeaBIOS -> GRUB from the MBR -> the image's kernel) to its "Linux version" line;
#    the volume's size follows computeSize, its partition starts at 1 MiB and its ext4
#    is labelled rootfs@<hex IP>;
#  - a second VM from the same image is served from the object cache (misses unchanged);
#  - a corrupted cached object is detected, dropped and fetched again; two creates at
#    once refetch objects that vanished from the cache, and every object stays whole;
#  - build/images/hypervisor added and fetched back with imagetool is identical;
#  - -tftpbootImageStream pxe: tftp-hpa fetches pxelinux.0 and vmlinuz byte-identical,
#    a newer image with a changed file is followed, and a restart serves the last one
#    at once even with the image server down;
#  - FirmwareType uefi gives a GPT + ESP (GRUB EFI) layout; SkipBootloader the kernel
#    and initrd beside the volume;
#  - unknown images and an unreachable image server give clear errors.
# One boot only (TCG works; KVM when it works).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VM"
t_require qemu-system-x86_64 "the VM is a QEMU process"
t_require grub-mkimage "root volumes boot with GRUB (grub-pc-bin)"
t_require mke2fs "root file systems are made by mke2fs -d"
t_require tftp "tftp-hpa fetches the TFTP boot files"
t_require curl "metrics are fetched with curl"
t_require blkid "reads the root volume's label"
images=$SS_TOP/build/images
# The images it publishes: `make images` (a no-op when up to date; e2e/images, which
# runs later, reuses them).
if ! out=$(make -C "$SS_TOP" --no-print-directory images 2>&1); then
	t_fail "make images" "$(tail -5 <<<"$out" | tr '\n' ' ')"
	exit 0
fi
for k in installer pxe; do
	[ -f "$images/$k/vmlinuz" ] || { t_fail "make images made $images/$k"; exit 0; }
done
for p in imageserver imagetool; do
	[ -x "$SS_BIN/$p" ] || { t_skip "hv_image" "$SS_BIN/$p not built"; exit 0; }
done
[ -d /usr/lib/grub/i386-pc ] || { t_skip "hv_image" "grub-pc-bin not installed"; exit 0; }

hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
hv_bridge "${SS_ID}br" 10.103.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
# The publisher: CA.pem-rooted, granted the image and object server methods.
mkdir -p "$C/publisher"
_hv_cert "$C/publisher" publisher publisher "$C/ca" 'ImageServer.*' 'ObjectServer.*' ||
	{ t_fail "publisher certificate"; exit 0; }
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
IS_PORT=6971
IS=$HV_DIR/imageserver
mkdir -p "$IS"/{images,objects,log}

# ---- the image server (inside the namespace: the hypervisor dials 127.0.0.1) ----
ip netns exec "$HV_NS" "$SS_BIN/imageserver" -portNum=$IS_PORT -imageDir="$IS/images" \
	-objectDir="$IS/objects" -logDir="$IS/log" -CAfile="$C/ca/ca.pem" \
	-identityCAfile="$C/idca/ca.pem" -certFile="$C/server/cert.pem" \
	-keyFile="$C/server/key.pem" >"$IS/out" 2>&1 &
is_pid=$!
t_cleanup kill "$is_pid"
for ((i = 0; i < 100; i++)); do
	hv_ns curl -s -o /dev/null "http://127.0.0.1:$IS_PORT/" && break
	sleep 0.1
done
it() {
	hv_ns "$SS_BIN/imagetool" -imageServerHostname=127.0.0.1 -imageServerPortNum=$IS_PORT \
		-certDirectory="$C/publisher" -CAfile="$C/ca/ca.pem" "$@"
}
t_check "imagetool mkdir vm" it mkdir vm
t_check "imagetool mkdir pxe" it mkdir pxe
t_check "imagetool add vm/1 (the installer image)" it add vm/2026-01-01:00:00:01 "$images/installer"
t_check "imagetool add pxe/1 (the PXE files)" it add pxe/2026-01-01:00:00:01 "$images/pxe"
t_check "imagetool mkdir hv" it mkdir hv
t_check "imagetool add hv/1 (the hypervisor appliance image)" it add hv/2026-01-01:00:00:01 "$images/hypervisor"
t_check "imagetool get hv (its latest) back" it get hv "$HV_DIR/hv-back"
t_check "the appliance image came back identical" diff -r "$images/hypervisor" "$HV_DIR/hv-back"

# ---- the hypervisor ----
hv_daemon_start -virtType="$vt" -stopTimeout=3s -acknowledgeTimeout=60s \
	-imageServerHostname=127.0.0.1 -imageServerPortNum=$IS_PORT -objectCacheSize=1G \
	-tftpbootImageStream=pxe -tftpbootCheckInterval=1s ||
	{ t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts with an image server, an object cache and a tftpboot stream"
CACHE=$HV_DIR/objectcache
t_check "the object cache is beside the volume directory" test -d "$CACHE"

rpc() {
	hv_ns "$SS_BIN/srpc-testc" -certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" \
		-CAfile="$C/ca/ca.pem" call "$@"
}
vmc() {
	hv_ns "$SS_BIN/vm-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 -dhcpTimeout=0 "$@"
}
metric() { hv_curl metrics | awk -v m="$1" '$1 == m {print $2}'; }
rpc Hypervisor.UpdateSubnets '{"Add":[{"Id":"vms","IpGateway":"10.103.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.103.0.1"]}]}' >/dev/null
addrs=$(for i in 10 11 12 13 14 15; do printf '{"IpAddress":"10.103.0.%d","MacAddress":"52:54:00:67:00:%02x"},' "$i" "$i"; done)
t_expect "pool of six addresses" '"Error":""' rpc Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[${addrs%,}]}"

# ---- TFTP from the stream (started at daemon start; checked while the VM boots) ----
PXE=${SS_ID}pxe
ip netns add "$PXE"
t_cleanup ip netns del "$PXE"
ip -n "$PXE" link set lo up
hv_ns ip link add "${SS_ID}px" type veth peer name eth0 netns "$PXE"
hv_ns ip link set "${SS_ID}px" master "${SS_ID}br" up
ip -n "$PXE" addr add 10.103.0.50/24 dev eth0
ip -n "$PXE" link set eth0 up
fetch() { # NAME OUT
	(cd "$HV_DIR" && ip netns exec "$PXE" timeout 30 tftp 10.103.0.1 -m binary -c get "$1" "$2")
}
for ((i = 0; i < 100; i++)); do
	[ -s "$HV_STATE/tftpboot/current" ] && break
	sleep 0.2
done
t_expect "the TFTP root is the stream's image" '^pxe/2026-01-01:00:00:01$' cat "$HV_STATE/tftpboot/current"
mkdir -p "$HV_DIR/got"
fetch pxelinux.0 "$HV_DIR/got/pxelinux.0" >/dev/null 2>&1
t_check "tftp -m binary: pxelinux.0 byte-identical" cmp "$images/pxe/pxelinux.0" "$HV_DIR/got/pxelinux.0"
fetch vmlinuz "$HV_DIR/got/vmlinuz" >/dev/null 2>&1
t_check "tftp -m binary: vmlinuz byte-identical" cmp "$images/pxe/vmlinuz" "$HV_DIR/got/vmlinuz"

# ---- a VM from the image ----
start=$(date +%s.%N)
VM=$(vmc -memory=256M -milliCPUs=500 -vmTags=Name=img1 -minFreeBytes=32M -roundupPower=24 -imageName=vm create-vm 2>"$HV_DIR/create.err")
t_expect "create-vm -imageName vm (a stream: its latest image)" '^10\.103\.0\.1[0-5]$' echo "$VM"
t_expect "...with the progress messages" 'unpacking image: vm/2026-01-01:00:00:01' cat "$HV_DIR/create.err"
if [ -n "$VM" ] && ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'Linux version' 240; then
	t_ok "the VM boots from its raw disk (SeaBIOS -> GRUB -> kernel): Linux version on the serial console"
	echo "# create-vm to 'Linux version': $(echo "$(date +%s.%N) - $start" | bc) s ($vt)"
else
	t_fail "the VM boots to Linux version" "$(tail -c 400 "$HV_STATE/VMs/$VM/bootlog" 2>&1 | tr -cd '[:print:]\n' | tail -3)"
fi
root=$HV_DIR/volumes/$VM/root
# computeSize: usage = Σ files rounded up to 4 KiB + 4 KiB per directory (the root's
# is not counted) + 64 per symlink; + 1/8 + MinimumFreeBytes (32 MiB here), rounded up
# to 2^RoundupPower (24 here).
usage=$(cd "$images/installer" && find . -mindepth 1 \( -type f -printf 'f %s\n' \) -o \( -type d -printf 'd\n' \) -o \( -type l -printf 'l\n' \) |
	awk '$1=="f"{u+=int(($2+4095)/4096)*4096} $1=="d"{u+=4096} $1=="l"{u+=64} END{printf "%d", u}')
need=$((usage + usage / 8 + (32 << 20)))
unit=$((1 << 24))
want=$(((need + unit - 1) / unit * unit))
t_expect "root volume size follows computeSize ($want bytes)" "^$want\$" stat -c %s "$root"
t_expect "...and is recorded in the VM's info" "\"Size\": $want" vmc get-vm-info "$VM"
t_expect "...which names the resolved image" '"ImageName": "vm/2026-01-01:00:00:01"' vmc get-vm-info "$VM"
# shellcheck disable=SC2086 # the IP's four numbers
label=$(printf 'rootfs@%02x%02x%02x%02x' ${VM//./ })
t_expect "ext4 at 1 MiB labelled $label" "^$label\$" blkid -p -O 1048576 -s LABEL -o value "$root"
t_expect "MBR: 0x55AA, partition 1 type 0x83 from LBA 2048" '^55aa 83 00080000$' \
	bash -c "echo \$(od -An -tx1 -j510 -N2 '$root' | tr -d ' ') \$(od -An -tx1 -j450 -N1 '$root' | tr -d ' ') \$(od -An -tx1 -j454 -N4 '$root' | tr -d ' ')"
t_check "the image tree beside the volume is gone" test ! -e "$HV_DIR/volumes/$VM/root.tree"
objects=$(metric hypervisor_object_cache_objects)
misses=$(metric hypervisor_object_cache_misses_total)
t_expect "the cache holds the image's objects (metrics)" '^[1-9]' echo "$objects"
t_expect "status page shows the object cache" 'Object cache' hv_curl ""

# ---- a second VM: from the cache ----
VM2=$(vmc -memory=128M -milliCPUs=200 -vmTags=Name=img2 -doNotStart -minFreeBytes=32M -roundupPower=24 -imageName=vm create-vm 2>/dev/null)
t_expect "second create-vm from the same image" '^10\.103\.0\.1[0-5]$' echo "$VM2"
t_expect "...hits the cache: misses unchanged ($misses)" "^$misses\$" metric hypervisor_object_cache_misses_total
t_expect "...and hits counted" '^[1-9]' metric hypervisor_object_cache_hits_total
t_check "...its root volume has the same size" test "$(stat -c %s "$HV_DIR/volumes/$VM2/root")" = "$want"

# ---- a corrupted cached object ----
obj=$(find "$CACHE" -mindepth 2 -type f -size +100k | head -1)
name=$(basename "$(dirname "$obj")")$(basename "$obj")
chmod u+w "$obj"
printf 'X' | dd of="$obj" bs=1 seek=1000 conv=notrunc status=none
t_check "an object of the cache corrupted on disk" bash -c "[ \"\$(sha512sum '$obj' | cut -d' ' -f1)\" != '$name' ]"
VM3=$(vmc -memory=128M -milliCPUs=200 -vmTags=Name=img3 -doNotStart -minFreeBytes=32M -roundupPower=24 -imageName=vm create-vm 2>/dev/null)
t_expect "a create with the corrupted object succeeds" '^10\.103\.0\.1[0-5]$' echo "$VM3"
t_expect "...the corruption was counted" '^1$' metric hypervisor_object_cache_corrupt_total
t_expect "...and the object fetched again (one miss)" "^$((misses + 1))\$" metric hypervisor_object_cache_misses_total
t_expect "...and it is whole again" "^$name " sha512sum "$obj"

# ---- two creates at once from a cache whose objects vanished behind its back ----
find "$CACHE" -mindepth 2 -type f -path "$CACHE/??/*" -delete
m0=$(metric hypervisor_object_cache_misses_total)
pids=()
for n in 6 7; do
	vmc -memory=64M -milliCPUs=100 -vmTags=Name=par$n -doNotStart -minFreeBytes=32M -roundupPower=24 \
		-imageName=vm create-vm >"$HV_DIR/par$n.out" 2>"$HV_DIR/par$n.err" &
	pids+=($!)
done
wait "${pids[@]}"
P6=$(cat "$HV_DIR/par6.out") P7=$(cat "$HV_DIR/par7.out")
t_expect "two concurrent creates both succeed" '^10\.103\.0\.1[0-5] 10\.103\.0\.1[0-5]$' echo "$P6 $P7"
t_check "...with root volumes of the same size" test "$(stat -c %s "$HV_DIR/volumes/$P6/root" 2>&1)" = "$want" -a \
	"$(stat -c %s "$HV_DIR/volumes/$P7/root" 2>&1)" = "$want"
t_expect "...the vanished objects were fetched again" '^[1-9]' echo $(($(metric hypervisor_object_cache_misses_total) - m0))
t_expect "...and every cached object is whole" '^$' bash -c "find '$CACHE' -mindepth 2 -type f -path '$CACHE/??/*' | while read -r f; do [ \"\$(sha512sum \"\$f\" | cut -d' ' -f1)\" = \"\$(basename \"\$(dirname \"\$f\")\")\$(basename \"\$f\")\" ] || echo \"bad \$f\"; done"
vmc destroy-vm "$P6" >/dev/null 2>&1
vmc destroy-vm "$P7" >/dev/null 2>&1

# ---- SkipBootloader: kernel and initrd beside the volume, for direct boot ----
VM4=$(vmc -memory=128M -milliCPUs=200 -vmTags=Name=img4 -doNotStart -skipBootloader -minFreeBytes=32M -roundupPower=24 -imageName=vm create-vm 2>/dev/null)
t_expect "create-vm -skipBootloader" '^10\.103\.0\.1[0-5]$' echo "$VM4"
t_check "...the image's kernel is the VM's kernel file" cmp "$images/installer/vmlinuz" "$HV_DIR/volumes/$VM4/kernel"
t_check "...and its initrd the initrd file" cmp "$images/installer/initrd.img" "$HV_DIR/volumes/$VM4/initrd"
t_expect "...and the MBR holds no boot code, only the partition table" '^0 55aa$' \
	bash -c "echo \$(od -v -An -tx1 -N440 '$HV_DIR/volumes/$VM4/root' | tr -d ' \n' | tr -d 0 | wc -c) \$(od -An -tx1 -j510 -N2 '$HV_DIR/volumes/$VM4/root' | tr -d ' ')"
t_check "destroy-vm of it" vmc destroy-vm "$VM4"
t_check "...removes kernel and initrd with the volume" test ! -e "$HV_DIR/volumes/$VM4"

# ---- FirmwareType uefi: GPT, an EFI system partition with GRUB EFI, the root after it
# (booting it with OVMF is not repeated here: one boot per run) ----
VM5=$(vmc -memory=128M -milliCPUs=200 -vmTags=Name=img5 -doNotStart -firmwareType=uefi -minFreeBytes=32M -roundupPower=24 -imageName=vm create-vm 2>/dev/null)
t_expect "create-vm -firmwareType=uefi" '^10\.103\.0\.1[0-5]$' echo "$VM5"
r5=$HV_DIR/volumes/$VM5/root
t_expect "...size: computeSize + the 17 MiB of the ESP and its gap" "^$((want + (17 << 20)))\$" stat -c %s "$r5"
t_expect "...a GPT" 'PTTYPE="gpt"' blkid -p "$r5"
t_expect "...an ESP at 1 MiB with EFI/BOOT/BOOTX64.EFI" 'BOOTX64 +EFI' mdir -i "$r5@@1M" ::EFI/BOOT
# shellcheck disable=SC2086 # the IP's four numbers
t_expect "...ext4 at 17 MiB labelled with its IP" "^$(printf 'rootfs@%02x%02x%02x%02x' ${VM5//./ })\$" \
	blkid -p -O $((17 << 20)) -s LABEL -o value "$r5"
t_check "destroy-vm of it" vmc destroy-vm "$VM5"

# ---- the TFTP root follows a newer image ----
cp -a "$images/pxe" "$HV_DIR/pxe2"
echo "# a changed boot menu" >>"$HV_DIR/pxe2/pxelinux.cfg/default"
t_check "imagetool add pxe/2 (a changed file)" it add pxe/2026-01-01:00:00:02 "$HV_DIR/pxe2"
for ((i = 0; i < 150; i++)); do
	grep -q ':02$' "$HV_STATE/tftpboot/current" 2>/dev/null && break
	sleep 0.2
done
t_expect "the TFTP root follows the newer image" '^pxe/2026-01-01:00:00:02$' cat "$HV_STATE/tftpboot/current"
fetch pxelinux.cfg/default "$HV_DIR/got/default" >/dev/null 2>&1
t_check "tftp: the changed file is served" cmp "$HV_DIR/pxe2/pxelinux.cfg/default" "$HV_DIR/got/default"
t_check "the old tree is removed" test ! -e "$HV_STATE/tftpboot/2026-01-01:00:00:01"

# ---- refusals ----
t_expect_fail "an unknown image is refused clearly" 'vm/nope' \
	vmc -memory=64M -milliCPUs=100 -vmTags=Name=bad -minFreeBytes=32M -imageName=vm/nope create-vm
kill "$is_pid"
wait "$is_pid" 2>/dev/null
t_expect_fail "no image server: clear error" 'image server not available: 127\.0\.0\.1:6971' \
	vmc -memory=64M -milliCPUs=100 -vmTags=Name=bad -minFreeBytes=32M -roundupPower=24 -imageName=vm create-vm
t_expect "failed creates left no volume directory behind" '^3$' bash -c "ls '$HV_DIR/volumes' | wc -l"
t_expect "...and their addresses are free" '10\.103\.0\.1[0-5]' hv_curl listAvailableAddresses

# ---- SIGTERM writes the cache's state ----
rm -f "$CACHE/lru-state.json"
kill -TERM "$HV_PID"
wait "$HV_PID" 2>/dev/null
HV_PID=
t_expect "SIGTERM flushed the cache's access order" "$name" cat "$CACHE/lru-state.json"

# ---- a restart serves the last image at once, with the image server still down ----
hv_daemon_start -virtType="$vt" -imageServerHostname=127.0.0.1 -imageServerPortNum=$IS_PORT \
	-objectCacheSize=1G -tftpbootImageStream=pxe -tftpbootCheckInterval=1s ||
	{ t_fail "daemon restarts" "$(tail -5 "$HV_LOG")"; exit 0; }
rm -f "$HV_DIR/got/default"
fetch pxelinux.cfg/default "$HV_DIR/got/default" >/dev/null 2>&1
t_check "after a restart, without the image server, TFTP serves the last image" \
	cmp "$HV_DIR/pxe2/pxelinux.cfg/default" "$HV_DIR/got/default"
t_expect "...and the status page says the server is not available" \
	'TFTP boot image.*pxe/2026-01-01:00:00:02.*image server not available' hv_curl ""
