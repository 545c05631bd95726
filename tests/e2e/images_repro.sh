# timeout: 420
# shellcheck shell=bash
# Reproducible images: a second full `make images` into another directory must
# give byte-identical initrds, kernels, manifests, ISO and PXE tree.
set -u
. "$SS_TOP/tests/lib/tap.sh"
t_require xorriso "apt-get install xorriso"

first=$SS_TOP/build/images
second=$(mktemp -d "/tmp/$SS_ID-repro.XXXXXX")
t_cleanup rm -rf "$second"

t_check "make images" make -C "$SS_TOP" --no-print-directory images
start=$(date +%s)
if out=$(make -C "$SS_TOP" --no-print-directory images IMAGES_DIR="$second" 2>&1); then
  t_ok "second full build into another directory ($(( $(date +%s) - start )) s)"
else
  t_fail "second full build into another directory" "$(tail -5 <<<"$out" | tr '\n' ' ')"
  exit 1
fi

for f in installer/initrd.img installer/vmlinuz installer/manifest.json hypervisor/initrd.img \
  hypervisor/vmlinuz hypervisor/manifest.json installer.iso; do
  t_check "identical $f" cmp "$first/$f" "$second/$f"
done
t_check "identical pxe/ tree" diff -r "$first/pxe" "$second/pxe"
# The hashes a release would publish.
sha256sum "$first/installer/initrd.img" "$first/installer.iso" | awk -v d="$first/" '{ sub(d, "", $2); print "# sha256 " $2 " " $1 }'
