# timeout: 120
# shellcheck shell=bash
# mkrootfs on small manifests: the shared-library closure agrees with the dynamic
# loader's own view (ld.so --list, only used here as the oracle), symlink chains
# are replicated, optional sources may be missing, required ones may not, gzip,
# zstd and xz outputs are deterministic (xz with the CRC32 check the kernel wants),
# manifest.json lists what the archive holds, and stripped modules keep what the
# module loader needs.
set -u
. "$SS_TOP/tests/lib/tap.sh"
t_require cpio "apt-get install cpio"
mkrootfs=$SS_BIN/mkrootfs # the sanitizer build: leaks and overflows fail the test
[ -x "$mkrootfs" ] || { t_fail "mkrootfs built" "$mkrootfs missing"; exit 1; }
work=$(mktemp -d "/tmp/$SS_ID-mkrootfs.XXXXXX")
t_cleanup rm -rf "$work"
export SOURCE_DATE_EPOCH=1700000000

# libvirtd: dozens of DT_NEEDED libraries, most of them indirect.
bin=/usr/sbin/libvirtd
[ -x "$bin" ] || bin=/usr/bin/openssl
cat >"$work/m1" <<EOF2
option compress=gzip level=6
symlink /bin usr/bin
symlink /lib usr/lib
symlink /lib64 usr/lib64
file $bin
file /etc/hello \${SRC}/hello.txt mode=0600
nod /dev/console c 5 1
optional file /nonexistent/tool
EOF2
mkdir -p "$work/src"
echo hello >"$work/src/hello.txt"
build() { # OUT: builds m1 into OUT
  "$mkrootfs" -q -n test -o "$1" -m "$work/m1" -D SRC="$work/src" 2>"$1.err"
}
t_check "mkrootfs builds a gzip image" build "$work/a"
t_check "initrd is valid gzip" gzip -t "$work/a/initrd.img"
listing=$(gzip -dc "$work/a/initrd.img" | cpio -it --quiet)

# The dynamic loader's answer, reduced to the canonical paths of each library.
expected=$( /lib64/ld-linux-x86-64.so.2 --list "$bin" | awk '/=>/ {print $3} /^\t\// {print $1}' |
  xargs -n1 realpath | sed 's|^/||' | sort -u)
missing=
for lib in $expected; do
  grep -qxF "$lib" <<<"$listing" || missing="$missing $lib"
done
if [ -n "$expected" ] && [ -z "$missing" ]; then
  t_ok "library closure of $bin matches ld.so ($(wc -w <<<"$expected") files)"
else
  t_fail "library closure of $bin matches ld.so" "missing:$missing"
fi
t_expect "symlink chain of the interpreter replicated" 'lib64 -> usr/lib64.*ld-linux-x86-64.so.2 ->' \
  bash -c "gzip -dc '$work/a/initrd.img' | cpio -itv --quiet | grep -E '^l' | tr '\n' ' '"
t_expect "mode and owner as the manifest says" '^-rw------- +1 root +root +6 .*etc/hello$' \
  bash -c "gzip -dc '$work/a/initrd.img' | cpio -itv --quiet | grep etc/hello"
t_expect "optional missing source is a warning" 'optional /nonexistent/tool missing' cat "$work/a.err"
t_expect "manifest.json records the missing optional source" '"/nonexistent/tool"' \
  jq -c .missing_optional "$work/a/manifest.json"
t_check "manifest.json lists every archive entry" \
  bash -c "diff <(jq -r '.files[].path | select(. != \"/\") | ltrimstr(\"/\")' '$work/a/manifest.json') \
    <(gzip -dc '$work/a/initrd.img' | cpio -it --quiet)"

build "$work/b"
t_check "gzip image is deterministic" cmp "$work/a/initrd.img" "$work/b/initrd.img"
t_check "manifest.json is deterministic" cmp "$work/a/manifest.json" "$work/b/manifest.json"

sed -i 's/^option .*/option compress=zstd level=3/' "$work/m1"
build "$work/z1" && build "$work/z2"
t_check "zstd image is deterministic" cmp "$work/z1/initrd.img" "$work/z2/initrd.img"
t_check "zstd image is valid" zstd -t -q "$work/z1/initrd.img"

# xz on a small tree (xz -e takes its time), against the same tree as gzip.
xzm() { # COMPRESS OUT: builds the small tree with that option into OUT
  printf 'option compress=%s\nsymlink /lib usr/lib\nsymlink /lib64 usr/lib64\nfile /usr/bin/true\nfile /etc/hello %s\n' \
    "$1" "$work/src/hello.txt" >"$work/$2.m"
  "$mkrootfs" -q -n test -o "$work/$2" -m "$work/$2.m" 2>"$work/$2.err"
}
xzm "gzip level=1" xg
t_check "mkrootfs builds an xz image" xzm "xz level=1" x1
xzm "xz level=1" x2
t_check "xz image is deterministic" cmp "$work/x1/initrd.img" "$work/x2/initrd.img"
t_check "xz image is valid" xz -t "$work/x1/initrd.img"
t_check "xz image holds the same cpio as the gzip one" \
  bash -c "cmp <(gzip -dc '$work/xg/initrd.img') <(xz -dc '$work/x1/initrd.img')"
t_expect "xz image has a CRC32 check (the kernel's decoder refuses CRC64)" '^ +Check: +CRC32$' \
  xz -lvv "$work/x1/initrd.img"
t_expect "xz image: one LZMA2 stream, no BCJ filter" '^ +1 +1 .* --lzma2=dict=[0-9]+[KM]iB$' \
  xz -lvv "$work/x1/initrd.img"
t_expect "manifest.json names xz and its check" '"compression":"xz","level":1,"check":"crc32"|"compression":"xz","check":"crc32","level":1' \
  jq -c .initrd "$work/x1/manifest.json"
t_expect "xz build leaves only its artifacts behind" '^initrd.img manifest.json $' \
  bash -c "ls -A '$work/x1' | tr '\n' ' '"

printf 'file /etc/x /nonexistent/required\n' >"$work/m2"
t_expect_fail "missing required source fails the build, naming it" 'line 1: /nonexistent/required' \
  "$mkrootfs" -q -n bad -o "$work/bad" -m "$work/m2"
if [ ! -e "$work/bad/initrd.img" ]; then
  t_ok "failed build leaves no initrd.img"
else
  t_fail "failed build leaves no initrd.img"
fi
printf 'file /etc/x /etc/hostname\nsymlink /etc/x y\n' >"$work/m3"
t_expect_fail "conflicting entries are refused" 'symlink /etc/x: a different entry already has this path' \
  "$mkrootfs" -q -n c -o "$work/c" -m "$work/m3"
# strip-binaries=yes: an ELF file with a SOURCE loses its symbols and debug info (and
# the build path in it), still runs; a non-ELF file and a host path stay as they are.
cc -g -o "$work/src/hello-bin" -x c - <<<'int main(void) { return 0; }'
# shellcheck disable=SC2016 # ${SRC} is mkrootfs's variable
printf 'option compress=gzip strip-binaries=yes\nfile /hello-bin ${SRC}/hello-bin\nfile /hello ${SRC}/hello.txt\n' >"$work/ms"
"$mkrootfs" -q -n s -o "$work/s" -m "$work/ms" -D SRC="$work/src" 2>/dev/null &&
  mkdir -p "$work/s/x" && (cd "$work/s/x" && gzip -dc ../initrd.img | cpio -id --quiet)
t_expect "strip-binaries=yes: no .symtab or .debug_* left" '^0$' \
  bash -c "readelf -SW '$work/s/x/hello-bin' | awk '/\\.symtab|\\.debug_/ {n++} END {print n + 0}'"
t_check "strip-binaries=yes: the binary still runs" "$work/s/x/hello-bin"
t_check "strip-binaries=yes: a text file is copied unchanged" cmp "$work/s/x/hello" "$work/src/hello.txt"
t_check "strip-binaries: the original is untouched (debug info kept)" \
  bash -c "readelf -SW '$work/src/hello-bin' | grep -q '\\.debug_info'"
printf 'module virtio_pci\n' >"$work/m4"
t_expect_fail "module without a module directory is refused" 'no module directory' \
  "$mkrootfs" -q -n c -o "$work/d" -m "$work/m4"
kver=$(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
if [ -f "/lib/modules/$kver/modules.dep" ]; then
  "$mkrootfs" -q -n m -o "$work/m" -m "$work/m4" -M "/lib/modules/$kver" 2>/dev/null
  t_expect "virtio_pci comes after its modules.dep closure" \
    'virtio_ring.ko virtio.ko.*virtio_pci.ko $' bash -c "tr '\n' ' ' <<<\"\$(zstd -dc '$work/m/initrd.img' | cpio -i --quiet --to-stdout etc/modules-load | sed 's|.*/||')\""
  # strip-modules=unneeded: smaller than debug-stripped, and still what the loader
  # reads (relocations and their symbols, __versions, this_module, modinfo).
  ko() { # MANIFEST_OPTION OUT: builds virtio_pci with that option, prints its path
    printf 'option %s\nmodule virtio_pci\n' "$1" >"$work/$2.m"
    "$mkrootfs" -q -n "$2" -o "$work/$2" -m "$work/$2.m" -M "/lib/modules/$kver" 2>/dev/null &&
      mkdir -p "$work/$2/x" && (cd "$work/$2/x" && zstd -dc ../initrd.img | cpio -id --quiet) &&
      find "$work/$2/x" -name virtio_pci.ko
  }
  debug_ko=$(ko strip-modules=debug sd) unneeded_ko=$(ko strip-modules=unneeded su)
  if [ -f "$debug_ko" ] && [ -f "$unneeded_ko" ] &&
    [ "$(stat -c %s "$unneeded_ko")" -lt "$(stat -c %s "$debug_ko")" ]; then
    t_ok "strip-modules=unneeded is smaller than debug ($(stat -c %s "$unneeded_ko") < $(stat -c %s "$debug_ko") bytes)"
  else
    t_fail "strip-modules=unneeded is smaller than debug" "'$debug_ko' '$unneeded_ko'"
  fi
  t_expect "unneeded-stripped module keeps relocations, __versions, this_module" \
    '\.rela\.text .*__versions .*\.gnu\.linkonce\.this_module ' \
    bash -c "readelf -SW '$unneeded_ko' | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p' | tr '\n' ' '"
  t_expect "unneeded-stripped module keeps its entry points" 'init_module .*cleanup_module|cleanup_module .*init_module' \
    bash -c "readelf -sW '$unneeded_ko' | awk '{print \$8}' | tr '\n' ' '"
  t_expect "unneeded-stripped module has no debug sections" '^0$' \
    bash -c "readelf -SW '$unneeded_ko' | awk '/\\.debug_|\\.BTF/ {n++} END {print n + 0}'"
  t_expect "unneeded-stripped module keeps its modinfo" "^$kver " \
    modinfo -F vermagic "$unneeded_ko"
else
  t_skip "virtio_pci comes after its modules.dep closure" "no /lib/modules/*/modules.dep"
fi
