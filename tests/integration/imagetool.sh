# timeout: 600
# shellcheck shell=bash
# imagetool against a real imageserver over mTLS on loopback: -h and usage errors
# (exit 2), every subcommand; add -> list -> get -> diff -r identical (empty file, hard
# link, symlink, nested directories, a 20 MiB file, modes and ownership); a stream
# means its latest image; a corrupted object on the server's disk is found by check
# and by get (exit 1, nothing left behind); an identity-only certificate reads but
# may not add or delete; traversal names refused by the tool and by the server;
# tools/imagetool/publish-images.sh (what `make publish-images` runs). The real
# appliance image's round trip is in e2e/hv_image, which builds the images.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"
t_require curl "the status page is the readiness probe"

it=$SS_BIN/imagetool
d=$(mktemp -d "/tmp/${SS_ID}-imgtool.XXXXXX")
t_cleanup rm -rf "$d"
export HOME=$d/home
mkdir -p "$HOME/.ssl" "$d/idonly" "$d/nocert" "$d/srv"

# --- help and usage (no server needed) ---
t_expect "-h lists commands" '^  add NAME DIR +upload the tree DIR' "$it" -h
out=$("$it" -h 2>/dev/null | grep -cE '^  (add|get|list|listdirs|mkdir|find-latest-image|show|check|delete|change-image-expiration) ')
if [ "$out" -eq 10 ]; then t_ok "-h lists every required subcommand"; else t_fail "-h lists every required subcommand" "found $out of 10"; fi
t_expect "-h lists flags with defaults" 'Port number of image server \(default 6971\)' "$it" -h
t_expect_fail --exit=2 "no command: exit 2" 'no command given' "$it"
t_expect_fail --exit=2 "unknown command: exit 2" 'unknown command "frob"' "$it" frob
t_expect_fail --exit=2 "missing argument: exit 2" 'usage: imagetool \[flags...\] get NAME DIR' "$it" get a/b
t_expect_fail --exit=2 "extra argument: exit 2" 'usage: imagetool \[flags...\] list$' "$it" list x
t_expect_fail --exit=2 "unknown flag: exit 2" 'flag provided but not defined: -bogus' "$it" -bogus list
t_expect_fail --exit=2 "bad duration: exit 2" 'bad duration "soon"' "$it" change-image-expiration a/b soon
t_expect_fail --exit=2 "-getConnections=0: exit 2" 'getConnections must be 1 to 16' "$it" -getConnections=0 list
t_expect_fail --exit=2 "negative -expiresIn: exit 2" 'cannot be negative' "$it" -expiresIn=-1h add a/b "$d"
t_expect_fail --exit=2 "traversal refused by the tool (add)" 'bad image name' "$it" add 'a/../b' "$d"
t_expect_fail --exit=2 "absolute name refused by the tool (get)" 'bad directory name' "$it" get /etc/x "$d/x"
t_expect_fail --exit=2 "dot-dot stream refused by the tool (mkdir)" 'bad directory name' "$it" mkdir ../up
t_expect_fail --exit=2 "image name without a stream refused (delete)" 'bad image name' "$it" delete leafonly
long=$(printf 'a%.0s' $(seq 300))
t_expect_fail --exit=2 "over-long component refused" 'bad directory name' "$it" mkdir "s/$long"

# --- certificates and the server ---
if ! srpc_ca "$d" CA || ! srpc_ca "$d" IdentityCA; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" server CA imageserver san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" alice CA alice grants='ImageServer.*,ObjectServer.*'
srpc_cert "$d" bob IdentityCA bob
cp "$d/alice.cert" "$d/alice.key" "$HOME/.ssl/"
cp "$d/bob.cert" "$d/bob.key" "$d/idonly/"
objdir=$d/srv/objects
port=
if ! srpc_imageserver "$d" "$d/srv" server port; then t_fail "imageserver starts"; exit 0; fi
srv_pid=$SRPC_IMAGESERVER_PID
t_ok "imageserver starts"
IT=("$it" -imageServerPortNum="$port" -CAfile="$d/CA.pem")
BOB=("${IT[@]}" -certDirectory="$d/idonly")

# --- flags files: ~/.config/imagetool/flags.default, then flags.extra ---
mkdir -p "$HOME/.config/imagetool"
printf 'imageServerPortNum=%s\nCAfile=%s\n' "$port" "$d/CA.pem" >"$HOME/.config/imagetool/flags.default"
t_check "flags.default is read (port and CA)" "$it" listdirs
printf 'imageServerPortNum=1\n' >"$HOME/.config/imagetool/flags.extra"
t_expect_fail --exit=1 "flags.extra overrides flags.default" 'Error listing directories: dial localhost:1' "$it" listdirs
t_check "the command line overrides both" "$it" -imageServerPortNum="$port" listdirs
rm -f "$HOME/.config/imagetool/flags.default" "$HOME/.config/imagetool/flags.extra"

# --- directories ---
t_check "mkdir test/stream" "${IT[@]}" mkdir test/stream
t_check "mkdir test/corrupt" "${IT[@]}" mkdir test/corrupt
t_expect "listdirs shows the stream" '^test/stream$' "${IT[@]}" listdirs
t_check "check-directory of an existing stream: exit 0" "${IT[@]}" check-directory test/stream
t_expect_fail --exit=1 "check-directory of a missing one: exit 1" 'does not exist' "${IT[@]}" check-directory test/nope
t_expect_fail --exit=1 "find-latest-image of an empty stream: exit 1" 'no image in test/stream' \
  "${IT[@]}" find-latest-image test/stream
t_expect_fail --exit=1 "find-latest-image of an unknown stream: the server's error" \
  '^Error finding latest image: .*unknown directory' "${IT[@]}" find-latest-image test/unknown

# --- a tree with every kind of entry ---
src=$d/src
mkdir -p "$src/a/b/c" "$src/empty-dir"
: >"$src/empty"
echo hello >"$src/a/hello.txt"
ln "$src/a/hello.txt" "$src/a/b/hardlink.txt"
ln -s ../hello.txt "$src/a/b/symlink"
ln -s /nonexistent/target "$src/dangling"
head -c $((20 << 20)) /dev/urandom >"$src/a/b/c/big.bin"
printf 'secret\n' >"$src/private"
chmod 0600 "$src/private"
chmod 0750 "$src/a/b"
printf '#!/bin/sh\n' >"$src/tool"
chmod 0755 "$src/tool"
owned=no
if [ "$(id -u)" -eq 0 ]; then
  chown 1234:5678 "$src/a/hello.txt" "$src/a/b/c"
  chown -h 4321:8765 "$src/a/b/symlink"
  owned=yes
fi
# path, type, mode, owner, link target, link count: what diff -r does not compare
tree_meta() { (cd "$1" && find . -printf '%p %y %m %U:%G %l %n\n' | sort); }
t_check "add test/stream/v1" "${IT[@]}" add test/stream/v1 "$src"
t_expect "list shows the image" '^test/stream/v1$' "${IT[@]}" list
t_expect "find-latest-image gives it" '^test/stream/v1$' "${IT[@]}" find-latest-image test/stream
t_expect "show: created by the certificate's user" '^CreatedBy: +alice$' "${IT[@]}" show test/stream/v1
t_expect "show: object count (4 distinct non-empty contents)" '^Objects: +4$' "${IT[@]}" show test/stream/v1
t_expect "show: never expires" '^ExpiresAt: +never$' "${IT[@]}" show test/stream/v1
t_expect "show-metadata is JSON without the file system" '"FileSystem": null' "${IT[@]}" show-metadata test/stream/v1
est=$("${IT[@]}" estimate-usage test/stream/v1 2>&1)
if [[ $est =~ ^[0-9]+$ ]] && [ "$est" -ge $((20 << 20)) ] && [ "$est" -lt $((21 << 20)) ]; then
  t_ok "estimate-usage counts the data in 4 KiB blocks"
else
  t_fail "estimate-usage counts the data in 4 KiB blocks" "$est"
fi
t_expect_fail --exit=1 "adding an existing name: exit 1" 'already exists' "${IT[@]}" add test/stream/v1 "$src"
t_expect_fail --exit=1 "adding into a missing stream: exit 1" 'does not exist' "${IT[@]}" add test/nope/v1 "$src"
t_expect_fail --exit=1 "adding a missing directory: exit 1" 'No such file' "${IT[@]}" add test/stream/vx "$d/missing"

t_check "get test/stream/v1" "${IT[@]}" get test/stream/v1 "$d/out1"
t_check "diff -r: identical" diff -r --no-dereference "$src" "$d/out1"
if [ "$(tree_meta "$src")" = "$(tree_meta "$d/out1")" ]; then
  t_ok "modes, link targets and hard links preserved (ownership: $owned)"
else
  t_fail "modes, link targets and hard links preserved" "$(diff <(tree_meta "$src") <(tree_meta "$d/out1") | head -5 | tr '\n' ' ')"
fi
if [ "$(stat -c %i "$d/out1/a/hello.txt")" = "$(stat -c %i "$d/out1/a/b/hardlink.txt")" ]; then
  t_ok "the hard link is one inode"
else
  t_fail "the hard link is one inode"
fi
t_check "get over one connection" "${IT[@]}" -getConnections=1 get test/stream/v1 "$d/out1-one"
t_check "get over sixteen connections (more than objects)" "${IT[@]}" -getConnections=16 get test/stream/v1 "$d/out1-many"
t_check "both identical" diff -r --no-dereference "$d/out1-one" "$d/out1-many"
left=$(find "$d" -maxdepth 1 -name 'out1.*' | wc -l)
if [ "$left" -eq 0 ]; then t_ok "no scratch store left beside DIR"; else t_fail "no scratch store left beside DIR" "$(ls "$d")"; fi
t_expect_fail --exit=1 "get into an existing directory: exit 1" 'exists' "${IT[@]}" get test/stream/v1 "$d/out1"
t_expect_fail --exit=1 "get of a missing image: exit 1" 'not found' "${IT[@]}" get test/stream/nope "$d/outx"

# --- a stream means its latest image ---
sleep 1.1
echo "second version" >"$src/new-in-v2"
t_check "add test/stream/v2" "${IT[@]}" add test/stream/v2 "$src"
t_expect "find-latest-image gives v2" '^test/stream/v2$' "${IT[@]}" find-latest-image test/stream
t_check "get of the stream" "${IT[@]}" get test/stream "$d/out2"
t_check "the stream's get is v2" diff -r --no-dereference "$src" "$d/out2"
t_expect "show of the stream names v2" '^Name: +test/stream/v2$' "${IT[@]}" show test/stream

# --- expiration ---
t_expect "get-image-expiration: never" '^never$' "${IT[@]}" get-image-expiration test/stream/v1
t_check "change-image-expiration 1h" "${IT[@]}" change-image-expiration test/stream/v1 1h
exp=$("${IT[@]}" get-image-expiration test/stream/v1 2>&1)
want=$(date -u -d '+1 hour' +%s)
got=$(date -u -d "$exp" +%s 2>/dev/null || echo 0)
if [ $((got - want)) -le 5 ] && [ $((want - got)) -le 5 ]; then t_ok "the expiry is an hour from now"; else t_fail "the expiry is an hour from now" "$exp"; fi
t_check "change-image-expiration 0 (permanent)" "${IT[@]}" change-image-expiration test/stream/v1 0
t_expect "permanent again" '^never$' "${IT[@]}" get-image-expiration test/stream/v1
t_check "add -expiresIn=2s" "${IT[@]}" -expiresIn=2s add test/stream/short "$d/out1/a"
t_expect "show: the expiry" '^ExpiresAt: +20[0-9-]+T' "${IT[@]}" show test/stream/short
t_expect "-ignoreExpiring skips it" '^test/stream/v2$' "${IT[@]}" -ignoreExpiring find-latest-image test/stream
sleep 4
if "${IT[@]}" list 2>&1 | grep -q '^test/stream/short$'; then
  t_fail "the expired image is gone"
else
  t_ok "the expired image is gone"
fi

# --- wait ---
"${IT[@]}" -timeout=20s wait test/stream/later >"$d/wait.out" 2>&1 &
wait_pid=$!
sleep 0.5
"${IT[@]}" add test/stream/later "$d/out1/a/b/c" >/dev/null 2>&1
if wait "$wait_pid"; then t_ok "wait returns when the image appears"; else t_fail "wait returns when the image appears" "$(cat "$d/wait.out")"; fi
t_expect_fail --exit=1 "wait -timeout=1s for a missing image: exit 1" 'not found' "${IT[@]}" -timeout=1s wait test/stream/never

# --- delete ---
t_check "delete test/stream/later" "${IT[@]}" delete test/stream/later
if "${IT[@]}" list 2>&1 | grep -q '^test/stream/later$'; then t_fail "deleted image no longer listed"; else t_ok "deleted image no longer listed"; fi
t_expect_fail --exit=1 "delete of a missing image: the server's error" '^Error deleting image: .+' "${IT[@]}" delete test/stream/later

# --- check, and a corrupted object on the server's disk ---
mkdir -p "$d/csrc/sub"
head -c $((3 << 20)) /dev/urandom >"$d/csrc/sub/victim"
echo intact >"$d/csrc/other"
t_check "add test/corrupt/c1" "${IT[@]}" add test/corrupt/c1 "$d/csrc"
t_expect "check of an intact image: exit 0" 'ok, 2 objects' "${IT[@]}" check test/corrupt/c1
t_expect_fail --exit=1 "check of a missing image: exit 1" 'not found' "${IT[@]}" check test/corrupt/none
h=$(sha512sum "$d/csrc/sub/victim" | cut -c1-128)
obj=$objdir/${h:0:2}/${h:2}
if [ -f "$obj" ]; then
  t_ok "the object is stored under <objectDir>/xx/yyy"
  chmod u+w "$obj"
  python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 0xff]))' "$obj"
  t_expect_fail --exit=1 "check finds the corrupted object, by hash and path" "object $h is corrupted" \
    "${IT[@]}" check test/corrupt/c1
  t_expect_fail --exit=1 "check names the file" '^  /sub/victim$' "${IT[@]}" check test/corrupt/c1
  t_expect_fail --exit=1 "get refuses the corrupted image" 'Error getting image: .*(mismatch|corrupt)' \
    "${IT[@]}" get test/corrupt/c1 "$d/out3"
  left=$(find "$d" -maxdepth 1 -name 'out3*' | wc -l)
  if [ "$left" -eq 0 ]; then t_ok "a failed get leaves no DIR and no scratch"; else t_fail "a failed get leaves no DIR and no scratch" "$(ls "$d")"; fi
else
  t_fail "the object is stored under <objectDir>/xx/yyy" "no $obj"
fi

mkdir -p "$d/msrc"
head -c 100000 /dev/urandom >"$d/msrc/gone"
t_check "add test/corrupt/c2" "${IT[@]}" add test/corrupt/c2 "$d/msrc"
h=$(sha512sum "$d/msrc/gone" | cut -c1-128)
rm -f "$objdir/${h:0:2}/${h:2}"
t_expect_fail --exit=1 "check finds an object missing from the server's disk" "object $h is missing" \
  "${IT[@]}" check test/corrupt/c2
t_expect_fail --exit=1 "get of it fails" 'Error getting image: ' "${IT[@]}" get test/corrupt/c2 "$d/out4"
if [ ! -e "$d/out4" ]; then t_ok "and leaves no DIR"; else t_fail "and leaves no DIR"; fi

# --- identity-only certificate: reads, may not write ---
t_expect "identity cert: list" '^test/stream/v2$' "${BOB[@]}" list
t_check "identity cert: get" "${BOB[@]}" get test/stream/v2 "$d/out-bob"
t_check "identity cert: the tree is identical" diff -r --no-dereference "$src" "$d/out-bob"
t_expect_fail --exit=1 "identity cert: add refused with the server's error" '^Error adding image: .*(denied|permission|not authori)' \
  "${BOB[@]}" add test/stream/bob "$d/csrc"
t_expect_fail --exit=1 "identity cert: delete refused with the server's error" '^Error deleting image: .*(denied|permission|not authori)' \
  "${BOB[@]}" delete test/stream/v1
t_expect "after the refusals v1 is still there" '^test/stream/v1$' "${IT[@]}" list
t_expect_fail --exit=1 "no certificate at all: exit 1" 'Error listing images: loading credentials' \
  "${IT[@]}" -certDirectory="$d/nocert" list

# --- traversal names refused by the server ---
TC=("$SS_BIN/srpc-testc" -addr="127.0.0.1:$port" -certDirectory="$HOME/.ssl" -CAfile="$d/CA.pem")
for n in '../escape' 'test/../../escape' '/abs/name' 'test/./x'; do
  t_expect_fail "server refuses MakeDirectory \"$n\"" "MakeDirectory: \"$n\"" \
    "${TC[@]}" call ImageServer.MakeDirectory "{\"DirectoryName\":\"$n\"}"
done
t_expect_fail "server refuses AddImage with a traversal name" 'AddImage: .*test/stream/\.\./\.\./x' \
  "${TC[@]}" call ImageServer.AddImage '{"ImageName":"test/stream/../../x","Image":{"FileSystem":{"InodeTable":{},"EntryList":null,"Mode":16877}}}'
t_expect_fail "server refuses GetImage with a traversal name" 'GetImage: .*\.\./\.\./etc' \
  "${TC[@]}" call ImageServer.GetImage '{"ImageName":"../../etc/passwd"}'
if [ -z "$(find "$d/srv" -name x -o -name escape 2>/dev/null)" ] && [ ! -e "$d/escape" ]; then
  t_ok "nothing was created outside"
else
  t_fail "nothing was created outside" "$(find "$d" -name x -o -name escape)"
fi

# --- publish-images.sh (what make publish-images runs after make images) ---
pub=$d/images
for k in installer hypervisor pxe; do
  mkdir -p "$pub/$k/sub"
  echo "$k kernel" >"$pub/$k/vmlinuz"
  head -c 100000 /dev/urandom >"$pub/$k/initrd.img"
  echo "$k cfg" >"$pub/$k/sub/cfg"
done
t_expect_fail --exit=2 "publish-images: bad IMAGESERVER: exit 2" 'must be host:port' \
  bash "$SS_TOP/tools/imagetool/publish-images.sh" "$it" localhost "$pub" smallstack
t_check "publish-images.sh" env -u IMAGE_LEAF bash "$SS_TOP/tools/imagetool/publish-images.sh" "$it" \
  "localhost:$port" "$pub" smallstack -CAfile="$d/CA.pem"
for k in installer hypervisor pxe; do
  latest=$("${IT[@]}" find-latest-image "smallstack/$k" 2>&1)
  if [[ $latest =~ ^smallstack/$k/[0-9]{4}-[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2}:[0-9]{2}$ ]]; then
    t_ok "published smallstack/$k with a sortable leaf"
  else
    t_fail "published smallstack/$k with a sortable leaf" "$latest"
  fi
done
t_check "the published pxe tree comes back" "${IT[@]}" get smallstack/pxe "$d/out-pxe"
t_check "identical" diff -r "$pub/pxe" "$d/out-pxe"
sleep 1.1
t_check "a second publish reuses the existing streams" env -u IMAGE_LEAF bash \
  "$SS_TOP/tools/imagetool/publish-images.sh" "$it" "localhost:$port" "$pub" smallstack -CAfile="$d/CA.pem"
n=$("${IT[@]}" list 2>&1 | grep -c '^smallstack/installer/')
if [ "$n" -eq 2 ]; then t_ok "two installer images after two publishes"; else t_fail "two installer images after two publishes" "$n"; fi

if kill -0 "$srv_pid" 2>/dev/null; then t_ok "the server is still running"; else t_fail "the server is still running" "$(tail -5 "$d/srv/stderr")"; fi
