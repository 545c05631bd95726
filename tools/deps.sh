#!/usr/bin/env bash
# Installs, with apt-get and only when missing, every Debian package that building,
# running and testing SmallStack-C need. Idempotent; fast when nothing is missing.
# Usage: tools/deps.sh [build|all]   (default: all)
set -eu

build_pkgs=(
  build-essential make pkg-config gcc clang libclang-rt-14-dev
  libssl-dev openssl libjansson-dev libmicrohttpd-dev libcmocka-dev libarchive-dev
  libvirt-dev libmnl-dev libnftables-dev
)
run_pkgs=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils ovmf ipxe-qemu
  iproute2 nftables ebtables
  xorriso isolinux syslinux syslinux-common syslinux-efi pxelinux mtools dosfstools
  grub-efi-amd64-bin grub-pc-bin grub-common busybox-static kexec-tools e2fsprogs cpio zstd gzip
  linux-image-amd64
  # make images: the tools tree packs sfdisk and cryptsetup; rootfs/bootkit.py patches GRUB
  fdisk cryptsetup-bin python3
)
test_pkgs=(
  udhcpc isc-dhcp-client isc-dhcp-relay tftp-hpa curl socat jq valgrind
  shellcheck cppcheck clang-format # make check's style group (tests/style.sh)
  # atftpd conflicts with tftpd-hpa: bench/tftp unpacks it privately (apt-get download).
  dnsmasq-base tftpd-hpa kea-dhcp4-server kea-admin
  nginx # bench/imageserver's peer (configured in a temp dir by the bench)
  chromium
  openipmi ipmitool # fm_power: ipmi_sim, the BMC simulator, and PowerOnMachine's tool
  faketime # images_repro: builds at another time of day
  bc bison flex libelf-dev linux-source-6.1
)

want=("${build_pkgs[@]}")
if [ "${1:-all}" = all ]; then
  want+=("${run_pkgs[@]}" "${test_pkgs[@]}")
fi

missing=()
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' 2>/dev/null | awk '$2 ~ /^ii/ {print $1}')
for p in "${want[@]}"; do
  grep -qxF "$p" <<<"$installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${#missing[@]} package(s): ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # Services must not start from postinst scripts: tests start what they need.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libvirt without systemd needs these accounts (shared/research/machine.md).
getent group kvm >/dev/null || groupadd -r kvm 2>/dev/null || true
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu 2>/dev/null || true
getent passwd libvirt-qemu >/dev/null ||
  useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu 2>/dev/null || true
echo "deps: ok"
