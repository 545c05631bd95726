#!/usr/bin/env bash
# Builds the small appliance kernel (bzImage) from Debian's linux-source package:
# `make tinyconfig` + the fragments in this directory, everything built in.
# The result is cached under $KERNEL_CACHE keyed on the source package version, the
# fragments and this script, so a second call with the same inputs is instant.
# Usage: kernel-config/build-kernel.sh OUT_BZIMAGE [FRAGMENT...]
#   (no fragments: kernel-config/*.config)  env: KERNEL_CACHE (build/kernel), JOBS (2),
#   SOURCE_DATE_EPOCH (build timestamp written into the kernel).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=${1:?usage: build-kernel.sh OUT_BZIMAGE [FRAGMENT...]}
shift
frags=("$@")
[ "${#frags[@]}" -gt 0 ] || frags=("$here"/*.config)
cache=${KERNEL_CACHE:-$top/build/kernel}
jobs=${JOBS:-2}
pkg=linux-source-6.1
tarball=/usr/src/$pkg.tar.xz
[ -f "$tarball" ] || { echo "build-kernel: $tarball missing (apt-get install $pkg)" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' "$pkg")

key=$( { echo "$pkg $version"; cat "${frags[@]}" "$0"; } | sha256sum | cut -c1-16)
mkdir -p "$cache"
if [ -f "$cache/$key/bzImage" ]; then
  echo "build-kernel: cached $cache/$key/bzImage ($pkg $version)"
  cp "$cache/$key/bzImage" "$out.tmp" && mv "$out.tmp" "$out"
  exit 0
fi

src=$cache/src-$version
if [ ! -f "$src/.unpacked" ]; then
  echo "build-kernel: unpacking $tarball"
  rm -rf "$src" && mkdir -p "$src"
  tar -xJf "$tarball" -C "$src" --strip-components=1
  touch "$src/.unpacked"
fi

obj=$cache/obj-$key
rm -rf "$obj" && mkdir -p "$obj"
export KBUILD_BUILD_TIMESTAMP="@${SOURCE_DATE_EPOCH:-1700000000}"
export KBUILD_BUILD_USER=smallstack KBUILD_BUILD_HOST=build KBUILD_BUILD_VERSION=1
mk() { make -s -C "$src" O="$obj" ARCH=x86_64 "$@"; }
echo "build-kernel: configuring (tinyconfig + ${frags[*]##*/})"
mk tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${frags[@]}" >/dev/null
mk olddefconfig >/dev/null
# Every option the fragments ask for must survive olddefconfig (a missing dependency
# silently drops it otherwise).
missing=0
while IFS= read -r line; do
  case $line in CONFIG_*=*) ;; *) continue ;; esac
  if ! grep -qxF -- "$line" "$obj/.config"; then
    echo "build-kernel: not set after olddefconfig: $line" >&2
    missing=1
  fi
done < <(cat "${frags[@]}")
[ "$missing" -eq 0 ] || exit 1
echo "build-kernel: compiling bzImage with -j$jobs (several minutes)"
start=$(date +%s)
mk -j"$jobs" bzImage
mkdir -p "$cache/$key"
cp "$obj/arch/x86/boot/bzImage" "$cache/$key/bzImage.tmp"
cp "$obj/.config" "$cache/$key/config"
mv "$cache/$key/bzImage.tmp" "$cache/$key/bzImage"
echo "build-kernel: built in $(( $(date +%s) - start )) s: $(stat -c %s "$cache/$key/bzImage") bytes"
cp "$cache/$key/bzImage" "$out.tmp" && mv "$out.tmp" "$out"
