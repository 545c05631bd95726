# timeout: 1500
# shellcheck shell=bash
# Reproducible images, for real: a fresh `git clone` of this tree at another (longer)
# path builds the programs and every image with another umask, time zone, locale and
# faked build time, and every artifact is byte-identical to the first build: the
# installer and hypervisor images (kernel, initrd, manifest), the hypervisor's boot/
# and tools/ trees, installer.iso, the pxe/ tree and a per-machine ISO (iso/mkiso.sh
# -c). The first build is a clone too, at a plain path, with umask 022, TZ=UTC and
# the real clock: this tree's own build/ may hold objects compiled at an older
# commit (SS_VERSION is in the binaries) or from uncommitted changes. Only committed
# work is built: commit before running this.
set -u
. "$SS_TOP/tests/lib/tap.sh"
t_require xorriso "apt-get install xorriso"
t_require faketime "apt-get install faketime"

work=$(mktemp -d "/tmp/$SS_ID-repro.XXXXXX")
t_cleanup rm -rf "$work"

build() { # SRC_DIR: make -j2 && make images in SRC_DIR (its own build/)
  make -C "$1" --no-print-directory -j2 >"$work/make.log" 2>&1 &&
    make -C "$1" --no-print-directory images >>"$work/make.log" 2>&1
}
machine_iso() { # SRC_DIR OUT: a per-machine ISO with a baked-in config
  local cfg=$work/cfg
  mkdir -p "$cfg"
  echo '{"Machine": {"Hostname": "repro-machine"}}' >"$cfg/config.json"
  echo "hypervisor/repro" >"$cfg/imagename"
  echo "imageserver.test:6971" >"$cfg/imageserver"
  bash "$1/iso/mkiso.sh" -i "$1/build/images/installer" -c "$cfg" -o "$2" >/dev/null
}

first_src=$work/first
echo "# building HEAD: $(git -C "$SS_TOP" log -1 --format='%h %cI')"
start=$(date +%s)
if (umask 022 && git clone -q "$SS_TOP" "$first_src" &&
  TZ=UTC LC_ALL=C bash -c "$(declare -f build machine_iso); work='$work'; build '$first_src' &&
    machine_iso '$first_src' '$work/first-machine.iso'"); then
  t_ok "first build ($(( $(date +%s) - start )) s)"
else
  t_fail "first build" "$(tail -5 "$work/make.log" | tr '\n' ' ')"
  exit 1
fi

# The second: another path, umask, time zone, locale, and a build time a year and a
# half away (faketime: every tool that reads the clock sees it; NO_FAKE_STAT=1, else
# libfaketime also shifts the file times stat() returns, which no real clock does).
second_src=$work/elsewhere/a/much/longer/build/path/smallstack
mkdir -p "$(dirname "$second_src")"
start=$(date +%s)
if (
  umask 077
  git clone -q "$SS_TOP" "$second_src" &&
    TZ=Asia/Tokyo LC_ALL=C.UTF-8 LANG=fr_FR.UTF-8 NO_FAKE_STAT=1 faketime -f '+555d' bash -c "$(declare -f build machine_iso); work='$work'; build '$second_src' &&
      machine_iso '$second_src' '$work/second-machine.iso'"
); then
  t_ok "second build: other path, umask 077, TZ=Asia/Tokyo, LC_ALL=C.UTF-8, faketime +555 days ($(( $(date +%s) - start )) s)"
else
  t_fail "second build" "$(tail -5 "$work/make.log" | tr '\n' ' ')"
  exit 1
fi

first=$first_src/build/images second=$second_src/build/images
for f in installer/initrd.img installer/vmlinuz installer/manifest.json hypervisor/initrd.img \
  hypervisor/vmlinuz hypervisor/manifest.json installer.iso; do
  t_check "identical $f" cmp "$first/$f" "$second/$f"
done
tree_sum() { # DIR: every entry's path, type, mode, size, symlink target and content hash
  (cd "$1" && find . -printf '%p %y %m %s %l\n' | sort &&
    find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
for d in hypervisor/boot hypervisor/tools pxe; do
  t_check "identical $d/ tree (names, modes, contents)" \
    diff <(tree_sum "$first/$d") <(tree_sum "$second/$d")
done
t_check "identical per-machine ISO (iso/mkiso.sh -c)" cmp "$work/first-machine.iso" "$work/second-machine.iso"
for p in installer hypervisor vm-control; do
  if [ -f "$first_src/build/bin/$p" ]; then
    t_check "identical build/bin/$p (no build path inside)" cmp "$first_src/build/bin/$p" "$second_src/build/bin/$p"
  else
    t_skip "identical build/bin/$p" "not built in this tree"
  fi
done
# The hashes a release would publish.
sha256sum "$first/installer/initrd.img" "$first/installer.iso" "$first/hypervisor/initrd.img" |
  awk -v d="$first/" '{ sub(d, "", $2); print "# sha256 " $2 " " $1 }'
