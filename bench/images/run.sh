#!/usr/bin/env bash
# Image build benchmark: wall time of each step of a full, cold `make images`
# into a scratch directory, the size of every artifact, and (when present) the
# installer on the custom kernel. Usage: bench/images/run.sh [KERNEL=custom]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/bench-images.XXXXXX)
trap 'rm -rf "$out"' EXIT
cd "$top"
make -s --no-print-directory all
ms() { date +%s%N | cut -c1-13; }
step() { # NAME TARGET...: times one make step
  local name=$1 t0 t1
  shift
  t0=$(ms)
  make -s --no-print-directory IMAGES_DIR="$out" "$@" >/dev/null
  t1=$(ms)
  printf 'bench: %-28s %6.1f s\n' "$name" "$(awk -v d=$((t1 - t0)) 'BEGIN { print d / 1000 }')"
}
step "installer image" "$out/installer/initrd.img" "$@"
step "hypervisor image" "$out/hypervisor/initrd.img" "$@"
step "PXE tree" "$out/pxe/pxelinux.0" "$@"
step "installer ISO" "$out/installer.iso" "$@"
bash bench/images/sizes.sh "$out" | sed 's/^images:/bench:/'
printf 'bench: hypervisor files in the image: %s, uncompressed %s bytes\n' \
  "$(jq '.files | length' "$out/hypervisor/manifest.json")" "$(jq .files_bytes "$out/hypervisor/manifest.json")"
