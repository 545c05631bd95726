#!/usr/bin/env bash
# timeout: 600
# serial
# shellcheck shell=bash
# The installer's storage part (installer/install.c, drives.c, layout.c, storage.c with
# config.c, fetch.c, target.c, through tests/helpers/inst_storage_testc.c: what the
# installer does after its network and enrolment steps) onto two loop disks from a
# real imageserver over mTLS: the appliance image (build/images/hypervisor when `make
# images` has run, else an image of the same layout made here from the host's GRUB,
# sfdisk, mke2fs and cryptsetup) is fetched, the tools run chrooted in its tools/
# tree, and the disks are checked without mounting anything: the GPT (names, types,
# LBAs), the labels, slot A's files (hashes equal to the image's), slot B empty, the
# data partition's tree, an extra partition's mke2fs options (BytesPerInode,
# ReservedBlocksPercentage, RootUserId), the extra drive, GRUB's boot code in the
# protective MBR (partition table kept) and core.img at LBA 2048, the ESP image with
# grubenv (ss_slot=A) in place, LUKS2 opened with the key read from the ESP (when the
# kernel has device-mapper). Every bad input (unknown disk, a layout that does not fit,
# a missing image, an object whose hash does not match, an image without its boot kit,
# encryption without device-mapper) and the dry run leave every disk's SHA-256 as it was.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"
t_require curl "the status page is the readiness probe"
t_require python3 "free ports, offsets and file corruption"
t_require losetup "the disks are loop devices"
t_require sfdisk "the installer's partitioning tool (and the check of its work)"
t_require mke2fs "the installer makes ext4 with mke2fs -d"
t_require debugfs "files are read from ext4 without mounting"
t_require cryptsetup "LUKS2 for Encrypt"
t_require blkid "labels are read with blkid"
t_require mcopy "the stand-in ESP image is a FAT file system made with mtools"
if [ "$(id -u)" != 0 ]; then
  t_skip "installer_storage" "needs root (loop devices)"
  exit 0
fi

tc=$SS_BIN/inst-storage-testc
it=$SS_BIN/imagetool
d=$(mktemp -d "/tmp/${SS_ID}-inststor.XXXXXX")
t_cleanup rm -rf "$d"
export HOME=$d/home
mkdir -p "$HOME/.ssl" "$d/srv"

if ! srpc_ca "$d" CA || ! srpc_ca "$d" IdentityCA; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" server CA imageserver san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" alice CA alice grants='ImageServer.*,ObjectServer.*'
srpc_cert "$d" machine CA m1.example.net san=DNS:m1.example.net,IP:10.9.0.5
cp "$d/alice.cert" "$d/alice.key" "$HOME/.ssl/"

port=
if ! srpc_imageserver "$d" "$d/srv" server port; then t_fail "imageserver starts"; exit 0; fi
t_ok "imageserver starts"
IT=("$it" -imageServerPortNum="$port" -CAfile="$d/CA.pem")

# --- the appliance image: the real one, or one of the same layout ---
# copy_tool ROOT PROG: PROG and its shared-library closure into the tree ROOT.
copy_tool() {
  local root=$1 prog lib
  prog=$(command -v "$2")
  install -D -m 0755 "$prog" "$root/usr/sbin/$(basename "$prog")"
  for lib in $(ldd "$prog" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}
img=$SS_TOP/build/images/hypervisor
if [ -f "$img/boot/esp.json" ] && [ -d "$img/tools" ] && [ -f "$img/vmlinuz" ]; then
  echo "# image: $img (make images)"
else
  echo "# image: a stand-in of the same layout (build/images/hypervisor has no boot kit yet)"
  img=$d/fake
  mkdir -p "$img/boot" "$img/tools/usr/sbin" "$img/tools/etc" "$d/espsrc/grub" "$d/espsrc/ss"
  head -c $((3 << 20)) /dev/urandom >"$img/vmlinuz"
  head -c $((5 << 20)) /dev/urandom >"$img/initrd.img"
  echo '{"Name":"hypervisor","Files":[]}' >"$img/manifest.json"
  head -c 440 /usr/lib/grub/i386-pc/boot.img >"$img/boot/bios-boot.img"
  head -c 40000 /dev/urandom >"$img/boot/bios-core.img"
  { printf '# GRUB Environment Block\n'; head -c $((1024 - 25)) /dev/zero | tr '\0' '#'; } >"$d/espsrc/grub/grubenv"
  head -c 4096 /dev/zero >"$d/espsrc/ss/data.key"
  truncate -s 64M "$d/esp.img"
  mkfs.vfat -n SS_ESP "$d/esp.img" >/dev/null
  mcopy -s -i "$d/esp.img" "$d/espsrc/grub" "$d/espsrc/ss" ::/
  python3 - "$d/esp.img" "$img/boot/esp.json" <<'EOF'
import json, sys
data = open(sys.argv[1], "rb").read()
g = data.index(b"# GRUB Environment Block\n")
# the key file: the first 4096 zero bytes after the grubenv cluster (clusters are 2 KiB+)
k = g + 1024
while data[k:k + 4096] != bytes(4096) or k % 512:
    k += 512
json.dump({"Size": len(data), "GrubenvOffset": g, "GrubenvSize": 1024, "KeyOffset": k,
           "KeySize": 4096}, open(sys.argv[2], "w"))
EOF
  gzip -n -c "$d/esp.img" >"$img/boot/esp.img.gz"
  for t in sfdisk mke2fs cryptsetup; do copy_tool "$img/tools" "$t"; done
  [ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$img/tools/etc/"
fi
t_check "mkdir smallstack/hypervisor" "${IT[@]}" mkdir smallstack/hypervisor
t_check "add smallstack/hypervisor/v1" "${IT[@]}" add smallstack/hypervisor/v1 "$img"
# the same without its boot kit
mkdir -p "$d/noboot"
cp -a "$img/." "$d/noboot/"
rm -f "$d/noboot/boot/esp.json"
t_check "mkdir test" "${IT[@]}" mkdir test
t_check "add test/noboot" "${IT[@]}" add test/noboot "$d/noboot"
# an image with an object of its own, corrupted on the server's disk
mkdir -p "$d/csrc"
cp -a "$img/." "$d/csrc/"
head -c $((1 << 20)) /dev/urandom >"$d/csrc/initrd.img"
t_check "add test/corrupt" "${IT[@]}" add test/corrupt "$d/csrc"
h=$(sha512sum "$d/csrc/initrd.img" | cut -c1-128)
obj=$d/srv/objects/${h:0:2}/${h:2}
chmod u+w "$obj"
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 0xff]))' "$obj"

# --- the configuration directory, as on an ISO ---
cfg=$d/tftpdata
mkdir -p "$cfg"
cat >"$cfg/config.json" <<EOF
{
    "Machine": {
        "Hostname": "m1.example.net",
        "HostIpAddress": "10.9.0.5",
        "HostMacAddress": "52:54:00:12:34:56",
        "IPMI": {}
    },
    "Subnets": [
        {
            "Id": "lan",
            "IpGateway": "10.9.0.1",
            "IpMask": "255.255.255.0",
            "DomainName": "example.net",
            "DomainNameServers": ["10.9.0.53"],
            "Manage": true
        }
    ]
}
EOF
echo "smallstack/hypervisor" >"$cfg/imagename"
echo "localhost:$port" >"$cfg/imageserver"
cp "$d/CA.pem" "$cfg/CA.pem"
cp "$d/IdentityCA.pem" "$cfg/IdentityCA.pem"
cp "$d/machine.cert" "$cfg/cert.pem"
cp "$d/machine.key" "$cfg/key.pem"
layout() { # ENCRYPT ROOT_FREE_BYTES
  cat >"$cfg/storage-layout.json" <<EOF
{
    "BootDriveLayout": [
        {"MountPoint": "/", "MinimumFreeBytes": $2},
        {"MountPoint": "/home", "MinimumBytes": 104857600, "BytesPerInode": 65536,
         "ReservedBlocksPercentage": 0, "RootUserId": 1000, "RootGroupId": 1001}
    ],
    "ExtraMountPointsBasename": "/data/",
    "Encrypt": $1
}
EOF
}
layout false 209715200
# the machine's NIC for the network configuration; the real block devices
sys=$d/sys
mkdir -p "$sys/class/net/eth0"
printf '1\n' >"$sys/class/net/eth0/type"
printf '52:54:00:12:34:56\n' >"$sys/class/net/eth0/address"
printf '1\n' >"$sys/class/net/eth0/carrier"
ln -s /sys/class/block "$sys/class/block"

# --- the disks: a 1 GiB boot disk and a 128 MiB extra disk, with something on them ---
truncate -s 1G "$d/disk0"
truncate -s 128M "$d/disk1"
for f in disk0 disk1; do
  head -c $((2 << 20)) /dev/urandom | dd of="$d/$f" conv=notrunc status=none
done
if ! A=$(losetup -f --show -P "$d/disk0"); then t_fail "losetup" "no free loop device"; exit 0; fi
t_cleanup losetup -d "$A"
if ! B=$(losetup -f --show -P "$d/disk1"); then t_fail "losetup" "no second loop device"; exit 0; fi
t_cleanup losetup -d "$B"
drives=$(basename "$A"),$(basename "$B")
sums() { openssl dgst -sha256 -r "$A" "$B" | awk '{ print $1 }' | tr '\n' ' '; }

# run_install WORK DRIVES [-n]: one install, its output on stdout; 0 if it completed. The
# real installer (-skipNetwork: what follows the network and enrolment steps) as the
# child of a PID namespace's init, where its reboot(2) ends only that namespace;
# inst-storage-testc (the same inst_validate + inst_write) until the program links.
touch -d 2020-01-01 "$d/ts"
run_install() {
  local w=$1 drv=$2 dry=false out
  [ "${3:-}" = -n ] && dry=true
  if [ "$runner" = installer ]; then
    # shellcheck disable=SC2016 # the inner shell's $$ and $@
    out=$(unshare --pid --fork --mount-proc sh -c 'test $$ = 1 || exit 99; "$@"; echo "installer returned $?"' \
      sh "$SS_BIN/installer" -dryRun=$dry -testMode -skipNetwork -consoleShell=false \
      -portNum="$(srpc_free_port)" -configSource=medium -tftpDirectory="$cfg" -workDirectory="$w" \
      -tmpRoot="$w/tmproot" -drives="$drv" -sysfsDirectory="$sys" -logDir="$w/log" \
      -buildTimestampFile="$d/ts" -resolvConf="$w/resolv.conf" -driveSelector="${selector:-}" \
      2>&1 </dev/null)
    echo "$out"
    # for real it must end in the reboot; a dry run exits
    grep -q 'installer: install complete' <<<"$out" &&
      { [ "$dry" = true ] || ! grep -q 'installer returned' <<<"$out"; }
  else
    if [ "$dry" = true ]; then "$tc" "$cfg" "$w" - "$drv" "$sys" -n; else "$tc" "$cfg" "$w" - "$drv" "$sys"; fi
  fi
}
runner=testc
[ -x "$SS_BIN/installer" ] && runner=installer
echo "# runner: $runner"

# unchanged NAME PATTERN DRIVES: the install is refused with PATTERN, no disk changes
n=0
unchanged() {
  local name=$1 pat=$2 before after
  n=$((n + 1))
  before=$(sums)
  t_expect_fail "$name" "$pat" run_install "$d/w$n" "$3"
  after=$(sums)
  if [ "$before" = "$after" ]; then t_ok "$name: every disk's SHA-256 unchanged"; else t_fail "$name: every disk's SHA-256 unchanged"; fi
}

# --- bad inputs first: each is refused before any write ---
unchanged "an unknown disk" 'unknown drive nosuchdisk' "$(basename "$A"),nosuchdisk"
layout false 4294967296
unchanged "a layout that does not fit" "storage layout needs [0-9]+ MiB on $A but the drive has 1024 MiB" "$drives"
layout false 209715200
echo "smallstack/nothere" >"$cfg/imagename"
unchanged "a missing image" 'nothere' "$drives"
echo "test/corrupt" >"$cfg/imagename"
unchanged "an object whose hash does not match" "object $h" "$drives"
echo "test/noboot" >"$cfg/imagename"
unchanged "an image without its boot kit" 'esp.json' "$drives"
echo "smallstack/hypervisor" >"$cfg/imagename"
printf '#!/bin/sh\necho nosuchdisk\n' >"$d/selector-bad"
# shellcheck disable=SC2016 # the selector's own $a, $0 and $@
printf '#!/bin/sh\nfor a; do echo "$a"; done >"$0.args"; echo "$@"\n' >"$d/selector-all"
chmod +x "$d/selector-bad" "$d/selector-all"
if [ "$runner" = installer ]; then
  selector=$d/selector-bad
  unchanged "a -driveSelector that names an unknown drive" '-driveSelector: unknown drive nosuchdisk' "$drives"
  selector=
else
  t_skip "a -driveSelector that names an unknown drive" "the installer program is not built"
fi
dm=no
dmsetup version >/dev/null 2>&1 && dm=yes
if [ "$dm" = no ]; then
  layout true 209715200
  unchanged "Encrypt without device-mapper in the kernel" 'Encrypt needs device-mapper' "$drives"
  layout false 209715200
fi
n=$((n + 1))
before=$(sums)
t_expect "dry run: validated and staged" 'step partition: done' run_install "$d/w$n" "$drives" -n
if [ "$before" = "$(sums)" ]; then t_ok "dry run: every disk's SHA-256 unchanged"; else t_fail "dry run: every disk's SHA-256 unchanged"; fi

# --- the install (Encrypt when the kernel can open LUKS) ---
enc=false
[ "$dm" = yes ] && enc=true
layout "$enc" 209715200
n=$((n + 1))
start=$(date +%s%N)
out=$(run_install "$d/w$n" "$drives" 2>&1)
rc=$?
echo "# install took $(( ($(date +%s%N) - start) / 1000000 )) ms (Encrypt=$enc)"
if [ $rc -eq 0 ]; then t_ok "install onto $drives"; else
  t_fail "install onto $drives" "$(tail -5 <<<"$out" | tr '\n' ' ')"
  exit 0
fi
for s in validate fetch partition write configure; do
  if grep -q "installer: step $s: done" <<<"$out"; then t_ok "step $s reported"; else t_fail "step $s reported"; fi
done
if [ "$runner" = installer ]; then
  t_expect "then the reboot (test mode: at once)" 'installer: rebooting' echo "$out"
else
  t_expect "the boot step gets slot A's kernel" "^kexec no kernel $d/w$n/slot-a/vmlinuz initrd $d/w$n/slot-a/initrd.img cmdline console=tty0 console=ttyS0,115200n8 ss.slot=A\$" echo "$out"
fi
if [ -L "$d/w$n/tmproot" ] && [ "$(readlink "$d/w$n/tmproot")" = "$d/w$n/image/tools" ]; then t_ok "-tmpRoot links to the image's tools"; else t_fail "-tmpRoot links to the image's tools" "$(ls -la "$d/w$n/tmproot" 2>&1)"; fi

# --- the GPT ---
part() { # DISK N -> the partition's device
  case $1 in *[0-9]) echo "${1}p$2" ;; *) echo "$1$2" ;; esac
}
gpt=$(sfdisk -J "$A")
expect_gpt=$(python3 - "$gpt" <<'EOF'
import json, sys
t = json.loads(sys.argv[1])["partitiontable"]
print(t["label"])
for p in t["partitions"]:
    print(p["start"], p["size"], p["type"], p.get("name", ""))
EOF
)
line() { sed -n "$1p" <<<"$expect_gpt"; }
if [ "$(line 1)" = gpt ]; then t_ok "GPT label"; else t_fail "GPT label" "$(line 1)"; fi
t_expect "p1 ss-bios: BIOS boot at LBA 2048, 1 MiB" '^2048 2048 21686148-6E69-6E6F-7444-656564454649 ss-bios$' line 2
t_expect "p2 ss-esp: EFI system at LBA 4096, 64 MiB" '^4096 131072 C12A7328-F81F-11D2-BA4B-00A0C93EC93B ss-esp$' line 3
t_expect "p3 ss-slot-a" '^135168 [0-9]+ 0FC63DAF-8483-4772-8E79-3D69D8477DE4 ss-slot-a$' line 4
t_expect "p4 ss-slot-b" ' 0FC63DAF-8483-4772-8E79-3D69D8477DE4 ss-slot-b$' line 5
t_expect "p5 ss-x/home, 100 MiB" ' 204800 0FC63DAF-8483-4772-8E79-3D69D8477DE4 ss-x/home$' line 6
t_expect "p6 ss-data last" ' 0FC63DAF-8483-4772-8E79-3D69D8477DE4 ss-data$' line 7
if python3 - "$gpt" <<'EOF'; then t_ok "partitions 1 MiB aligned, contiguous, ss-data to the last MiB"; else t_fail "partitions 1 MiB aligned, contiguous, ss-data to the last MiB"; fi
import json, sys
ps = json.loads(sys.argv[1])["partitiontable"]["partitions"]
end = 2048
for p in ps:
    assert p["start"] % 2048 == 0 and p["size"] % 2048 == 0 and p["start"] == end, p
    end = p["start"] + p["size"]
assert end == 1024 * 2048 - 2048, end
a, b = ps[2]["size"], ps[3]["size"]
assert a == b, (a, b)
EOF
t_expect "extra drive: one partition ss-x/data/1" '"name": *"ss-x/data/1"' sfdisk -J "$B"

# --- labels ---
label() { blkid -p -s LABEL -o value "$1" 2>/dev/null; }
fstype() { blkid -p -s TYPE -o value "$1" 2>/dev/null; }
t_expect "slot A: ext4 SS_SLOT_A" '^SS_SLOT_A$' label "$(part "$A" 3)"
t_expect "slot B: ext4 SS_SLOT_B" '^SS_SLOT_B$' label "$(part "$A" 4)"
t_expect "ESP: FAT" '^vfat$' fstype "$(part "$A" 2)"
if [ "$enc" = true ]; then
  t_expect "/home: LUKS2" '^crypto_LUKS$' fstype "$(part "$A" 5)"
  t_expect "data: LUKS2" '^crypto_LUKS$' fstype "$(part "$A" 6)"
  t_expect "extra drive: LUKS2" '^crypto_LUKS$' fstype "$(part "$B" 1)"
else
  t_expect "/home: ext4 labelled /home" '^/home$' label "$(part "$A" 5)"
  t_expect "data: ext4 SS_DATA" '^SS_DATA$' label "$(part "$A" 6)"
  t_expect "extra drive: ext4 labelled /data/1" '^/data/1$' label "$(part "$B" 1)"
fi

# --- the boot code ---
if cmp -s -n 440 "$A" "$img/boot/bios-boot.img"; then t_ok "MBR: GRUB's boot code in the first 440 bytes"; else t_fail "MBR: GRUB's boot code in the first 440 bytes"; fi
mbr=$(od -v -An -tx1 -j 446 -N 66 "$A" | tr -d ' \n')
if [ "${mbr:8:2}" = ee ] && [ "${mbr:128:4}" = 55aa ]; then t_ok "MBR: the protective partition (0xEE) and 55AA kept"; else t_fail "MBR: the protective partition (0xEE) and 55AA kept" "$mbr"; fi
core=$(stat -c %s "$img/boot/bios-core.img")
if cmp -s -n "$core" <(dd if="$A" bs=512 skip=2048 count=2048 status=none) "$img/boot/bios-core.img"; then t_ok "core.img at LBA 2048"; else t_fail "core.img at LBA 2048"; fi
esp=$(part "$A" 2)
read -r goff koff esz < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["GrubenvOffset"], j["KeyOffset"], j["Size"])' "$img/boot/esp.json")
env=$(dd if="$esp" bs=1 skip="$goff" count=1024 status=none | tr -d '#')
if [ "$env" = "$(printf '\n\nss_slot=A\n' | tail -c +2)" ] || grep -q '^ss_slot=A$' <<<"$env"; then t_ok "grubenv in place: ss_slot=A"; else t_fail "grubenv in place: ss_slot=A" "$env"; fi
t_expect "grubenv readable through the FAT file system" '^ss_slot=A' mtype -i "$esp" ::/grub/grubenv
if python3 - "$esp" "$img/boot/esp.img.gz" "$goff" "$koff" "$esz" <<'EOF'; then t_ok "ESP: the image's bytes but for grubenv and the key"; else t_fail "ESP: the image's bytes but for grubenv and the key"; fi
import gzip, sys
dev, gz, g, k, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
want = bytearray(gzip.open(gz).read())
got = bytearray(open(dev, "rb").read(n))
for b in (want, got):
    b[g:g + 1024] = bytes(1024)
    b[k:k + 4096] = bytes(4096)
assert want == got
EOF

# --- slot A's files, slot B empty ---
dump() { debugfs -R "dump $2 $3" "$1" >/dev/null 2>&1; }
ok=1
for f in vmlinuz initrd.img manifest.json; do
  rm -f "$d/got"
  dump "$(part "$A" 3)" "/$f" "$d/got"
  [ "$(sha256sum <"$d/got")" = "$(sha256sum <"$img/$f")" ] || { ok=0; echo "# slot A: $f differs"; }
done
if [ "$ok" = 1 ]; then t_ok "slot A: vmlinuz, initrd.img, manifest.json hash as the image's"; else t_fail "slot A: vmlinuz, initrd.img, manifest.json hash as the image's"; fi
t_expect "slot A: image-name" '^smallstack/hypervisor$' debugfs -R "cat /image-name" "$(part "$A" 3)"
ls_b=$(debugfs -R "ls -p /" "$(part "$A" 4)" 2>/dev/null | awk -F/ '{ print $6 }' | grep -vE '^(\.|\.\.|lost\+found)?$' | tr '\n' ' ')
if [ -z "$ls_b" ]; then t_ok "slot B: empty"; else t_fail "slot B: empty" "$ls_b"; fi

# --- the data partition, /home, the extra drive (the file systems, opened if LUKS) ---
if [ "$enc" = true ]; then
  dd if="$esp" bs=1 skip="$koff" count=32 status=none >"$d/key"
  t_check "LUKS: the data partition opens with the key from the ESP" \
    cryptsetup open --type luks2 --key-file "$d/key" --keyfile-size 32 "$(part "$A" 6)" "${SS_ID}data"
  t_cleanup dmsetup remove --force "${SS_ID}data"
  t_check "LUKS: /home opens with the same key" \
    cryptsetup open --type luks2 --key-file "$d/key" --keyfile-size 32 "$(part "$A" 5)" "${SS_ID}home"
  t_cleanup dmsetup remove --force "${SS_ID}home"
  t_check "LUKS: the extra drive opens with the same key" \
    cryptsetup luksOpen --test-passphrase --key-file "$d/key" --keyfile-size 32 "$(part "$B" 1)"
  datadev=/dev/mapper/${SS_ID}data homedev=/dev/mapper/${SS_ID}home
  t_expect "data inside LUKS: ext4 SS_DATA" '^SS_DATA$' label "$datadev"
else
  t_skip "LUKS opened with the key from the ESP" "no device-mapper in this kernel (dmsetup version fails): the e2e LUKS birth covers it"
  if [ "$(dd if="$esp" bs=1 skip="$koff" count=4096 status=none | tr -d '\0' | wc -c)" = 0 ]; then t_ok "no Encrypt: no key on the ESP"; else t_fail "no Encrypt: no key on the ESP"; fi
  datadev=$(part "$A" 6) homedev=$(part "$A" 5)
fi
t_expect "data: etc/hostname" '^m1' debugfs -R "cat /etc/hostname" "$datadev"
t_expect "data: the hypervisor's key, mode 0600" 'Mode: +0600' debugfs -R "stat /etc/ssl/hypervisor/key.pem" "$datadev"
rm -f "$d/got"
dump "$datadev" /etc/ssl/hypervisor/cert.pem "$d/got"
if cmp -s "$d/got" "$d/machine.cert"; then t_ok "data: the machine's certificate"; else t_fail "data: the machine's certificate"; fi
if [ "$enc" = true ]; then
  t_expect "data: etc/crypttab names the extra partitions" '^ss-extra-1 PARTLABEL=ss-x/home$' debugfs -R "cat /etc/crypttab" "$datadev"
  t_expect "data: etc/fstab mounts them from /dev/mapper" '^/dev/mapper/ss-extra-2 /data/1 ext4 defaults$' debugfs -R "cat /etc/fstab" "$datadev"
else
  fstab=$(debugfs -R "cat /etc/fstab" "$datadev" 2>/dev/null)
  if [ "$fstab" = "$(printf 'PARTLABEL=ss-x/home /home ext4 defaults\nPARTLABEL=ss-x/data/1 /data/1 ext4 defaults')" ]; then
    t_ok "data: etc/fstab mounts /home and the extra drive by GPT name"
  else
    t_fail "data: etc/fstab mounts /home and the extra drive by GPT name" "$(tr '\n' '|' <<<"$fstab")"
  fi
  if debugfs -R "stat /etc/crypttab" "$datadev" 2>&1 | grep -q 'Inode:'; then t_fail "data: no etc/crypttab without Encrypt"; else t_ok "data: no etc/crypttab without Encrypt"; fi
fi
t_expect "data: etc/installer/storage-layout.json" '"Encrypt"' debugfs -R "cat /etc/installer/storage-layout.json" "$datadev"
t_expect "/home: RootUserId 1000, RootGroupId 1001" 'User: +1000 +Group: +1001' debugfs -R "stat /" "$homedev"
t_expect "/home: ReservedBlocksPercentage 0" '^Reserved block count: +0$' dumpe2fs -h "$homedev"
icount=$(dumpe2fs -h "$homedev" 2>/dev/null | awk -F: '/^Inode count/ { gsub(/ /, "", $2); print $2 }')
# 100 MiB (less the LUKS header) at 65536 bytes per inode: at most 1600 inodes
if [ -n "$icount" ] && [ "$icount" -le 1600 ] && [ "$icount" -ge 1000 ]; then t_ok "/home: BytesPerInode 65536 ($icount inodes)"; else t_fail "/home: BytesPerInode 65536" "$icount inodes"; fi
if [ "$enc" = true ]; then
  cryptsetup close "${SS_ID}data"
  cryptsetup close "${SS_ID}home"
else
  t_expect "extra drive: ext4, 1 MiB per inode" '^Inode count: +[0-9]{2,3}$' dumpe2fs -h "$(part "$B" 1)"
fi

# --- the disk boots: GRUB (BIOS, then UEFI) finds slot A and starts its kernel ---
if [ "$img" = "$d/fake" ]; then
  t_skip "the installed disk boots" "the stand-in image has no real kernel (make images)"
elif ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  t_skip "the installed disk boots" "qemu-system-x86_64 not installed"
else
  . "$SS_TOP/tests/lib/images.sh"
  images_setup
  disk=(-m 1024 -drive "file=$d/disk0,format=raw,if=virtio,snapshot=on")
  booted='Command line: .*ss\.slot=A'
  if images_boot bios 90 "$booted" "${disk[@]}"; then
    t_ok "BIOS: GRUB's boot.img + core.img load slot A's kernel with grub.cfg's command line"
  else
    t_fail "BIOS: the installed disk boots" "$(images_fail_log bios)"
  fi
  grep -qa 'hypervisor-appliance: ready' "$IMG_WORK/bios.log" && echo "# BIOS: the appliance said ready"
  if [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ]; then
    vars=$(images_ovmf_vars uefi)
    if images_boot uefi 90 "$booted" -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
      -drive "if=pflash,format=raw,file=$vars" "${disk[@]}"; then
      t_ok "UEFI: BOOTX64.EFI on the ESP loads slot A's kernel"
    else
      t_fail "UEFI: the installed disk boots" "$(images_fail_log uefi)"
    fi
  else
    t_skip "UEFI: the installed disk boots" "no OVMF"
  fi
fi

# --- a second install over the first works too (old signatures wiped) ---
n=$((n + 1))
selector=$d/selector-all
t_expect "a second install over the first (drives through -driveSelector)" 'step configure: done' run_install "$d/w$n" "$drives"
selector=
if [ "$runner" = installer ]; then
  t_expect "-driveSelector got the candidates" "^$(basename "$A") $(basename "$B")\$" paste -sd " " "$d/selector-all.args"
fi
t_expect "slot A after the second install" '^smallstack/hypervisor$' debugfs -R "cat /image-name" "$(part "$A" 3)"
