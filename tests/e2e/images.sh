# timeout: 1200
# shellcheck shell=bash
# Appliance images end to end: `make images` (reused when up to date), the
# artifacts and their manifests, then real boots under QEMU: the installer's
# kernel+initrd, a per-machine ISO as CD / USB stick (SeaBIOS) and CD (OVMF),
# the generic ISO taking its config over DHCP/TFTP, the PXE tree (BIOS pxelinux,
# UEFI GRUB, iPXE script over HTTP) and the hypervisor appliance with libvirt.
# SS_IMAGES_KERNEL=custom runs it all on the custom kernel (make kernel first).
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/images.sh"
t_require qemu-system-x86_64 "apt-get install qemu-system-x86"
t_require xorriso "apt-get install xorriso"

images=$SS_TOP/build/images
kernel=${SS_IMAGES_KERNEL:-debian}
images_setup

start=$(date +%s)
if out=$(make -C "$SS_TOP" --no-print-directory images KERNEL="$kernel" 2>&1); then
  t_ok "make images KERNEL=$kernel ($(( $(date +%s) - start )) s)"
  grep '^images: ' <<<"$out" | sed 's/^/# /'
else
  t_fail "make images" "$(tail -5 <<<"$out" | tr '\n' ' ')"
  exit 1
fi

DEBIAN_KVER=$(jq -r .kernel.modules "$images/installer/manifest.json")

initrd_cat() { # IMAGE: the initrd's cpio on stdout, by the compressor's magic
  local f=$images/$1/initrd.img
  case $(od -An -tx1 -N4 "$f" | tr -d ' ') in
    fd377a58) xz -dc "$f" ;;
    28b52ffd) zstd -dc "$f" ;;
    1f8b*) gzip -dc "$f" ;;
    *) echo "$f: unknown compression" >&2; return 1 ;;
  esac
}

# --- artifacts at their fixed paths, manifests that tell the truth -------------
missing=
for f in installer/vmlinuz installer/initrd.img installer/manifest.json hypervisor/vmlinuz \
  hypervisor/initrd.img hypervisor/manifest.json installer.iso pxe/pxelinux.0 pxe/ldlinux.c32 \
  pxe/pxelinux.cfg/default pxe/pxelinux.7 pxe/pxelinux.9 pxe/grub/grub.cfg pxe/boot.ipxe \
  pxe/vmlinuz pxe/initrd.img; do
  [ -f "$images/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
  t_ok "artifacts at fixed paths"
else
  t_fail "artifacts at fixed paths" "missing:$missing"
fi

check_manifest() { # $1 = image name
  local dir=$images/$1 json listed packed
  json=$dir/manifest.json
  [ "$(jq -r .initrd.sha256 "$json")" = "$(sha256sum <"$dir/initrd.img" | cut -d' ' -f1)" ] ||
    { echo "initrd sha256 differs"; return 1; }
  [ "$(jq -r .kernel.sha256 "$json")" = "$(sha256sum <"$dir/vmlinuz" | cut -d' ' -f1)" ] ||
    { echo "kernel sha256 differs"; return 1; }
  # Every entry of the archive is listed, and nothing else.
  listed=$(jq -r '.files[].path | select(. != "/") | ltrimstr("/")' "$json")
  packed=$(initrd_cat "$1" | cpio -it --quiet)
  [ "$listed" = "$packed" ] || { echo "file list differs: $(diff <(echo "$listed") <(echo "$packed") | head -3)"; return 1; }
  # File hashes match the bytes in the archive (spot check: /init).
  initrd_cat "$1" | (cd "$IMG_WORK" && mkdir -p "x-$1" && cd "x-$1" && cpio -id --quiet init)
  [ "$(jq -r '.files[] | select(.path == "/init") | .sha256' "$json")" = \
    "$(sha256sum <"$IMG_WORK/x-$1/init" | cut -d' ' -f1)" ] || { echo "/init sha256 differs"; return 1; }
}
t_check "installer manifest.json matches initrd.img and vmlinuz" check_manifest installer
t_check "hypervisor manifest.json matches initrd.img and vmlinuz" check_manifest hypervisor

has_paths() { # IMAGE PATH...: the image's initrd holds every PATH
  local list
  list=$(initrd_cat "$1" | cpio -it --quiet)
  shift
  for p in "$@"; do
    grep -qxF "$p" <<<"$list" || { echo "missing $p"; return 1; }
  done
}
if [ "$kernel" = debian ]; then
  t_check "installer image carries busybox, its init and the virtio/NIC/storage modules" \
    has_paths installer init usr/bin/busybox bin lib64 etc/modules-load \
    "usr/lib/modules/$DEBIAN_KVER/kernel/drivers/virtio/virtio_pci.ko" \
    "usr/lib/modules/$DEBIAN_KVER/kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko" \
    "usr/lib/modules/$DEBIAN_KVER/kernel/fs/isofs/isofs.ko"
else
  builtin_only() {
    [ "$(jq -r .kernel.modules "$images/installer/manifest.json")" = builtin ] &&
      [ "$(jq '.modules | length' "$images/installer/manifest.json")" = 0 ] &&
      has_paths installer init usr/bin/busybox
  }
  t_check "installer image on the custom kernel: busybox and init, no modules" builtin_only
fi
# The library closure comes from DT_NEEDED, the interpreter from PT_INTERP.
t_check "hypervisor image carries libvirtd, qemu and their library closures" \
  has_paths hypervisor usr/sbin/libvirtd usr/bin/qemu-system-x86_64 usr/lib64/ld-linux-x86-64.so.2 \
  usr/lib/x86_64-linux-gnu/libvirt.so.0 usr/lib/x86_64-linux-gnu/libc.so.6 \
  usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so \
  usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so usr/share/qemu/kvmvapic.bin

sizes() { # kernel + initrd in bytes
  echo $(( $(stat -c %s "$images/$1/vmlinuz") + $(stat -c %s "$images/$1/initrd.img") ))
}
echo "# sizes: installer $(sizes installer) bytes (kernel+initrd), hypervisor $(sizes hypervisor) bytes," \
  "installer.iso $(stat -c %s "$images/installer.iso") bytes"
# Issue 6's size goal (kernel + initrd <= 12,000,000 bytes on Debian's kernel) is a
# figure, not an assertion: it moves with Debian's kernel updates and the build epoch
# (bench/images/sizes.sh prints what is left). The xz form is asserted: the kernel only
# decompresses xz with a CRC32 check (xz's default CRC64 would not boot).
if [ "$kernel" = debian ]; then
  if [ "$(sizes installer)" -le 12000000 ]; then
    echo "# size goal met: installer kernel+initrd $(sizes installer) <= 12,000,000 bytes"
  else
    echo "# size goal MISSED: installer kernel+initrd $(sizes installer) > 12,000,000 bytes"
  fi
fi
t_expect "installer initrd is xz with a CRC32 check" '^ +Check: +CRC32$' xz -lvv "$images/installer/initrd.img"
t_expect "installer manifest.json says xz" '^xz$' jq -r .initrd.compression "$images/installer/manifest.json"

# --- configuration the installer must find -----------------------------------
cfg=$IMG_WORK/cfg
mkdir -p "$cfg"
echo '{"Machine": {"Hostname": "test-machine"}}' >"$cfg/config.json"
echo "installer/test" >"$cfg/imagename"
echo "imageserver.test:6971" >"$cfg/imageserver"
echo '{"BootDriveLayout": [{"MountPoint": "/"}]}' >"$cfg/storage-layout.json"
want_cfg='installer: config: config.json imagename imageserver storage-layout.json$'
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd

boot_check() { # NAME LIMIT EXPECT_REGEX QEMU_ARGS...: boots, then checks EXPECT in the log
  local name=$1 limit=$2 expect=$3
  shift 3
  images_boot "$name" "$limit" 'installer: (test mode|config:)' "$@"
  if grep -qaE "$expect" "$IMG_WORK/$name.log"; then
    t_ok "$name (first line at $IMG_FIRST s, config at $IMG_TOTAL s)"
  else
    t_fail "$name" "expected /$expect/: $(images_fail_log "$name")"
  fi
}

# --- kernel + initrd -----------------------------------------------------------
images_boot direct-kernel 90 'installer: test mode' -m 1024 -net none \
  -kernel "$images/installer/vmlinuz" -initrd "$images/installer/initrd.img" \
  -append "console=ttyS0,115200n8 ss.test=1"
if grep -qa '^installer: starting' "$IMG_WORK/direct-kernel.log" &&
  grep -qa '^installer: config: none' "$IMG_WORK/direct-kernel.log"; then
  t_ok "installer kernel+initrd reach 'installer: starting' (at $IMG_FIRST s)"
else
  t_fail "installer kernel+initrd reach 'installer: starting'" "$(images_fail_log direct-kernel)"
fi
if [ "$kernel" = debian ]; then
  t_expect "installer loads its modules without failures" '^installer: modules: [0-9]+ loaded$' \
    cat "$IMG_WORK/direct-kernel.log"
fi

# --- per-machine ISO: CD and USB stick (SeaBIOS), CD (OVMF) -------------------
iso=$IMG_WORK/machine.iso
if out=$(bash "$SS_TOP/iso/mkiso.sh" -i "$images/installer" -c "$cfg" -a ss.test=1 -o "$iso" 2>&1); then
  t_ok "mkiso.sh bakes a config directory into an ISO"
else
  t_fail "mkiso.sh bakes a config directory into an ISO" "$(tail -3 <<<"$out" | tr '\n' ' ')"
fi
t_expect "ISO holds the config files" 'tftpdata/config.json.*tftpdata/storage-layout.json' \
  bash -c "xorriso -indev '$iso' -find /tftpdata -exec lsdl -- 2>/dev/null | tr '\n' ' '"

boot_check iso-cdrom-seabios 120 "$want_cfg" -m 1024 -net none -cdrom "$iso"
boot_check iso-usb-seabios 120 "$want_cfg" -m 1024 -net none \
  -drive "if=none,id=stick,file=$iso,format=raw,readonly=on" -device qemu-xhci \
  -device usb-storage,drive=stick,bootindex=0
boot_check iso-cdrom-ovmf 150 "$want_cfg" -m 1024 -net none -machine q35 \
  -drive "if=pflash,format=raw,readonly=on,file=$ovmf_code" \
  -drive "if=pflash,format=raw,file=$(images_ovmf_vars cd)" -cdrom "$iso"
t_expect "USB boot read the config from the stick itself" '^installer: config source: boot medium' \
  cat "$IMG_WORK/iso-usb-seabios.log"

# --- generic ISO: no config baked in, DHCP + TFTP instead ---------------------
boot_check generic-iso-tftp 120 "$want_cfg" -m 1024 -cdrom "$images/installer.iso" \
  -netdev "user,id=n0,tftp=$cfg" -device virtio-net-pci,netdev=n0

# --- PXE tree through a TFTP server --------------------------------------------
tftp=$IMG_WORK/tftp
cp -r "$images/pxe" "$tftp"
cp "$cfg"/* "$tftp/"
mac=52:54:00:12:34:56
# Per-machine menus, as a boot server writes them: test mode for this MAC only.
sed 's/^\(  APPEND .*\)/\1 ss.test=1/' "$images/pxe/pxelinux.cfg/default" >"$tftp/pxelinux.cfg/01-${mac//:/-}"
sed -i 's/^\(linux .*\)/\1 ss.test=1/' "$tftp/grub/grub.cfg"
sed -i 's/^\(kernel .*\)/\1 ss.test=1/' "$tftp/boot.ipxe"

boot_check pxe-bios-pxelinux 150 "$want_cfg" -m 1024 -boot n \
  -netdev "user,id=n0,tftp=$tftp,bootfile=pxelinux.0" -device "virtio-net-pci,netdev=n0,mac=$mac"
boot_check pxe-uefi-grub 180 "$want_cfg" -m 1024 -machine q35 \
  -drive "if=pflash,format=raw,readonly=on,file=$ovmf_code" \
  -drive "if=pflash,format=raw,file=$(images_ovmf_vars pxe)" \
  -netdev "user,id=n0,tftp=$tftp,bootfile=pxelinux.9" -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=0"

# iPXE script over HTTP: a web server on loopback, reached from the guest as 10.0.2.2.
port=$(( 20000 + $$ % 20000 ))
busybox httpd -f -p "127.0.0.1:$port" -h "$tftp" &
httpd=$!
t_cleanup kill "$httpd"
boot_check pxe-ipxe-http 150 "$want_cfg" -m 1024 -boot n \
  -netdev "user,id=n0,tftp=$tftp,bootfile=http://10.0.2.2:$port/boot.ipxe" -device virtio-net-pci,netdev=n0
kill "$httpd" 2>/dev/null

# --- hypervisor appliance --------------------------------------------------------
images_boot hypervisor-appliance 240 'hypervisor-appliance: test mode' -m 2048 -net none \
  -kernel "$images/hypervisor/vmlinuz" -initrd "$images/hypervisor/initrd.img" \
  -append "console=ttyS0,115200n8 ss.test=1"
grep -a '^hypervisor-appliance: \(modules\|hypervisor daemon\)' "$IMG_WORK/hypervisor-appliance.log" | sed 's/^/# /'
if grep -qa '^hypervisor-appliance: libvirt: Running hypervisor: QEMU' "$IMG_WORK/hypervisor-appliance.log"; then
  t_ok "hypervisor appliance boots and libvirt answers (first line at $IMG_FIRST s, done at $IMG_TOTAL s)"
else
  t_fail "hypervisor appliance boots and libvirt answers" "$(images_fail_log hypervisor-appliance)"
fi

# --- the appliance from a disk laid out as the installer lays it out -----------
# Written by hand here (sfdisk + dd + mke2fs -d, what installer/storage.c does) from
# the image's boot kit: GRUB (BIOS: bios-boot.img + bios-core.img at LBA 2048; UEFI:
# BOOTX64.EFI in esp.img) must find the slot by label, the appliance its data
# partition by GPT name (LUKS, key on the ESP at esp.json's KeyOffset), hostname,
# network (a bridge by the ifupdown hook) and an extra partition from fstab.
hv=$images/hypervisor
check_bootkit() {
  [ "$(stat -c %s "$hv/boot/bios-boot.img")" = 440 ] || { echo "bios-boot.img not 440 bytes"; return 1; }
  [ "$(od -An -tu8 -j $((0x5c)) -N 8 "$hv/boot/bios-boot.img" | tr -d ' ')" = 2048 ] ||
    { echo "boot.img kernel sector is not 2048"; return 1; }
  [ "$(od -An -tu8 -j $((0x1f4)) -N 8 "$hv/boot/bios-core.img" | tr -d ' ')" = 2049 ] ||
    { echo "core.img blocklist does not start at 2049"; return 1; }
  [ "$(od -An -tu2 -j $((0x1fc)) -N 2 "$hv/boot/bios-core.img" | tr -d ' ')" = \
    $(( $(stat -c %s "$hv/boot/bios-core.img") / 512 - 1 )) ] || { echo "core.img blocklist length"; return 1; }
  gzip -dc "$hv/boot/esp.img.gz" >"$IMG_WORK/esp.img"
  [ "$(jq .Size "$hv/boot/esp.json")" = "$(stat -c %s "$IMG_WORK/esp.img")" ] || { echo "esp.json Size"; return 1; }
  cmp -s <(MTOOLS_SKIP_CHECK=1 mtype -i "$IMG_WORK/esp.img" ::/grub/grubenv) \
    <(dd if="$IMG_WORK/esp.img" bs=1024 count=1 skip="$(jq .GrubenvOffset "$hv/boot/esp.json")" \
      iflag=skip_bytes status=none) || { echo "grubenv not at GrubenvOffset"; return 1; }
  cmp -s <(MTOOLS_SKIP_CHECK=1 mtype -i "$IMG_WORK/esp.img" ::/ss/data.key) <(head -c 4096 /dev/zero) ||
    { echo "data.key is not 4096 zero bytes"; return 1; }
  MTOOLS_SKIP_CHECK=1 mdir -i "$IMG_WORK/esp.img" ::/EFI/BOOT/BOOTX64.EFI >/dev/null || { echo "no BOOTX64.EFI"; return 1; }
  grep -q '^ss_slot=A$' <(MTOOLS_SKIP_CHECK=1 mtype -i "$IMG_WORK/esp.img" ::/grub/grubenv) || { echo "grubenv lacks ss_slot=A"; return 1; }
}
t_check "boot kit: boot.img -> LBA 2048, core.img blocklist 2049.., esp.json offsets match the FAT" check_bootkit
check_tools() {
  local c
  for c in "sfdisk --version" "mke2fs -V" "mkfs.ext4 -V" "cryptsetup --version" "blkdiscard --version" "kexec --version"; do
    # shellcheck disable=SC2086
    chroot "$hv/tools" /usr/sbin/$c >/dev/null 2>&1 || { echo "chroot tools: $c fails"; return 1; }
  done
  [ -f "$hv/tools/etc/mke2fs.conf" ] || { echo "no /etc/mke2fs.conf"; return 1; }
}
t_check "tools/ tree: sfdisk, mke2fs, mkfs.ext4, cryptsetup, blkdiscard, kexec run chrooted" check_tools

disk=$IMG_WORK/disk.img
key=$IMG_WORK/data.key
make_disk() { # the PREAMBLE's layout, LUKS data partition with the key on the ESP
  local slot_mib start size l t esp_start
  rm -f "$disk"
  truncate -s 700M "$disk"
  slot_mib=$(( ( $(stat -c %s "$hv/vmlinuz") + $(stat -c %s "$hv/initrd.img") ) / 1048576 + 16 ))
  sfdisk -q "$disk" <<SF || return 1
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=ss-bios
start=4096, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=ss-esp
size=${slot_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=ss-slot-a
size=${slot_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=ss-slot-b
size=16MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=ss-extra-1
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=ss-data
SF
  part() { sfdisk -J "$disk" | jq -r ".partitiontable.partitions[$1] | \"\(.start) \(.size)\""; }
  dd if="$hv/boot/bios-boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
  dd if="$hv/boot/bios-core.img" of="$disk" bs=512 seek=2048 conv=notrunc status=none
  esp_start=$((4096 * 512))
  dd if="$IMG_WORK/esp.img" of="$disk" bs=1M seek="$esp_start" oflag=seek_bytes conv=notrunc,sparse status=none
  head -c 32 /dev/urandom >"$key"
  dd if="$key" of="$disk" seek=$((esp_start + $(jq .KeyOffset "$hv/boot/esp.json"))) oflag=seek_bytes \
    conv=notrunc status=none
  for l in A B; do
    t=$IMG_WORK/slot-$l
    mkdir -p "$t"
    cp "$hv/vmlinuz" "$hv/initrd.img" "$hv/manifest.json" "$t/"
    echo "hypervisor/test-$l" >"$t/image-name"
    read -r start size < <(part "$([ $l = A ] && echo 2 || echo 3)")
    mke2fs -q -t ext4 -L "SS_SLOT_$l" -d "$t" -E offset=$((start * 512)) "$disk" $((size / 2))k || return 1
  done
  mkdir -p "$IMG_WORK/extra" "$IMG_WORK/data/etc/network"
  echo "extra partition" >"$IMG_WORK/extra/marker"
  read -r start size < <(part 4)
  mke2fs -q -t ext4 -L EXTRA1 -d "$IMG_WORK/extra" -E offset=$((start * 512)) "$disk" $((size / 2))k || return 1
  echo disk-machine >"$IMG_WORK/data/etc/hostname"
  printf 'LABEL=EXTRA1 /mnt/extra1 ext4 defaults 0 2\n' >"$IMG_WORK/data/etc/fstab"
  cat >"$IMG_WORK/data/etc/network/interfaces" <<'NET'
# /etc/network/interfaces -- created by SmallStack installer

auto lo
iface lo inet loopback

auto br0
iface br0 inet static
	address      10.0.2.15
	netmask      255.255.255.0
	gateway      10.0.2.2
	hwaddress    52:54:00:aa:bb:01
	bridge_ports eth0
NET
  # The data partition: LUKS2 (a cheap Argon2id: the test checks opening, not cost),
  # encrypted offline (`reencrypt --encrypt`: needs no device-mapper on the host).
  read -r start size < <(part 5)
  truncate -s $((size * 512)) "$IMG_WORK/data.img"
  mke2fs -q -t ext4 -L SS_DATA -d "$IMG_WORK/data" "$IMG_WORK/data.img" $((size / 2 - 32768))k || return 1
  cryptsetup reencrypt -q --encrypt --type luks2 --reduce-device-size 32M --key-file "$key" \
    --keyfile-size 32 --pbkdf argon2id --pbkdf-memory 32768 --pbkdf-force-iterations 4 \
    "$IMG_WORK/data.img" || return 1
  dd if="$IMG_WORK/data.img" of="$disk" bs=1M seek=$((start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
  rm -f "$IMG_WORK/data.img"
}
t_check "disk laid out by hand: GPT, boot kit, slots A/B, extra partition, LUKS data" make_disk

disk_boot_checks() { # NAME FIRMWARE
  local log=$IMG_WORK/$1.log
  for re in 'ss: booting slot A' '^hypervisor-appliance: slot: A$' \
    '^hypervisor-appliance: data: LUKS /dev/vda6 opened$' '^hypervisor-appliance: data: /dev/mapper/ss-data$' \
    '^hypervisor-appliance: hostname: disk-machine$' '^hypervisor-appliance: fstab: /mnt/extra1: /dev/vda5$' \
    '^hypervisor-appliance: network: .*br0 10.0.2.15/24' '^hypervisor-appliance: ready$'; do
    grep -qaE "$re" "$log" || { echo "$2: no /$re/: $(images_fail_log "$1")"; return 1; }
  done
}
images_boot disk-seabios 300 'hypervisor-appliance: ready' -m 2048 \
  -drive "file=$disk,format=raw,if=virtio" -nic user,model=virtio-net-pci
t_check "disk under SeaBIOS: GRUB core at LBA 2048 boots slot A; LUKS data, hostname, fstab, bridge (ready at $IMG_TOTAL s)" \
  disk_boot_checks disk-seabios SeaBIOS

# grubenv: ss_slot=B with a one-shot ss_try=A boots A once and clears ss_try.
esp_off=$((4096 * 512))
env_off=$((esp_off + $(jq .GrubenvOffset "$hv/boot/esp.json")))
grub-editenv "$IMG_WORK/grubenv" create
grub-editenv "$IMG_WORK/grubenv" set ss_slot=B ss_try=A
dd if="$IMG_WORK/grubenv" of="$disk" seek="$env_off" oflag=seek_bytes conv=notrunc status=none
# shellcheck disable=SC2054 # commas inside QEMU's arguments
ovmf_disk=(-m 2048 -machine q35 -drive "if=pflash,format=raw,readonly=on,file=$ovmf_code"
  -drive "if=pflash,format=raw,file=$(images_ovmf_vars disk)" -drive "file=$disk,format=raw,if=virtio"
  -nic user,model=virtio-net-pci)
images_boot disk-ovmf-try 120 'Command line:' "${ovmf_disk[@]}"
t_expect "UEFI: grubenv ss_try=A boots slot A once" 'ss\.slot=A' grep -a 'Command line:' "$IMG_WORK/disk-ovmf-try.log"
t_expect "UEFI: GRUB cleared ss_try in grubenv (save_env)" '^ss_slot=B ss_try=$' \
  bash -c "dd if='$disk' bs=1024 count=1 skip=$env_off iflag=skip_bytes status=none | grep -a '^ss_' | tr '\n' ' ' | sed 's/ \$//'"
images_boot disk-ovmf 300 'hypervisor-appliance: ready' "${ovmf_disk[@]}"
t_expect "UEFI: then slot B (ss_slot=B) boots to ready (at $IMG_TOTAL s)" '^hypervisor-appliance: slot: B$' \
  grep -a '^hypervisor-appliance: \(slot\|ready\)' "$IMG_WORK/disk-ovmf.log"
t_expect "UEFI: slot B appliance reached ready" '^hypervisor-appliance: ready$' cat "$IMG_WORK/disk-ovmf.log"
