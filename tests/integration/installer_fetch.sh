#!/usr/bin/env bash
# timeout: 300
# shellcheck shell=bash
# The installer's configuration loader, image fetch and data-partition staging
# (installer/config.c, fetch.c, target.c through tests/helpers/inst_fetch_testc.c)
# against a real imageserver over mTLS on loopback, with real certificates: the image
# arrives whole (every file's SHA-512 equal to the source), a stream means its latest
# image; refused: an object corrupted on the server's disk (naming its hash), an
# object missing there, a server certificate from another CA, a certificate for
# another host, an unreachable port, a missing image, a key that came over the
# network. Then the data partition tree: hostname, interfaces, certificates (key
# 0600), flags, subnets.json as the hypervisor writes it, no key or token in the record.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"
t_require curl "the status page is the readiness probe"
t_require python3 "free ports and file corruption"

tc=$SS_BIN/inst-fetch-testc
it=$SS_BIN/imagetool
d=$(mktemp -d "/tmp/${SS_ID}-instfetch.XXXXXX")
t_cleanup rm -rf "$d"
export HOME=$d/home
mkdir -p "$HOME/.ssl" "$d/srv" "$d/rogue" "$d/work"

# note CMD...: the command's output as TAP comments (what a refusal says).
note() { "$@" 2>&1 | sed 's/^/# /'; }

if ! srpc_ca "$d" CA || ! srpc_ca "$d" IdentityCA || ! srpc_ca "$d" OtherCA; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" server CA imageserver san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" rogue OtherCA imageserver san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" alice CA alice grants='ImageServer.*,ObjectServer.*'
srpc_cert "$d" machine CA m1.example.net san=DNS:m1.example.net,IP:10.9.0.5
cp "$d/alice.cert" "$d/alice.key" "$HOME/.ssl/"

port=
if ! srpc_imageserver "$d" "$d/srv" server port; then t_fail "imageserver starts"; exit 0; fi
t_ok "imageserver starts"
IT=("$it" -imageServerPortNum="$port" -CAfile="$d/CA.pem")

# --- the appliance-like image ---
src=$d/src
mkdir -p "$src/boot" "$src/tools/usr/sbin" "$src/empty-dir"
head -c $((3 << 20)) /dev/urandom >"$src/vmlinuz"
head -c $((1 << 20)) /dev/urandom >"$src/initrd.img"
echo '{"Version":1}' >"$src/manifest.json"
head -c 440 /dev/urandom >"$src/boot/bios-boot.img"
printf '#!/bin/sh\n' >"$src/tools/usr/sbin/sfdisk"
chmod 0755 "$src/tools/usr/sbin/sfdisk"
ln -s sfdisk "$src/tools/usr/sbin/link"
: >"$src/empty"
t_check "mkdir smallstack/hypervisor" "${IT[@]}" mkdir smallstack/hypervisor
t_check "add smallstack/hypervisor/v1" "${IT[@]}" add smallstack/hypervisor/v1 "$src"
t_check "mkdir test" "${IT[@]}" mkdir test

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
        },
        {
            "Id": "v7",
            "IpGateway": "10.7.0.1",
            "IpMask": "255.255.255.0",
            "DomainNameServers": null,
            "VlanId": 7,
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
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$cfg/enrol-token"
echo >>"$cfg/enrol-token"
echo '{"BootDriveLayout": [{"MountPoint": "/", "MinimumFreeBytes": 1073741824}], "Encrypt": true}' \
  >"$cfg/storage-layout.json"

t_expect "config: loaded from the medium" '^imageserver localhost '"$port"'$' "$tc" config "$cfg" medium
t_expect "config: the layout as given" '^layout / ext4 label= min=0 free=1073741824$' "$tc" config "$cfg" medium
t_expect_fail "config: a key that came over the network is refused" 'key.pem came over the network: refused' \
  "$tc" config "$cfg" network

# --- fetch: success ---
t_expect "fetch: a stream means its latest image" '^ok$' "$tc" fetch "$cfg" medium "$d/work" "$d/dest"
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha512sum); }
if [ -d "$d/dest" ] && [ "$(sums "$src")" = "$(sums "$d/dest")" ]; then
  t_ok "fetch: every file's SHA-512 equals the source's"
else
  t_fail "fetch: every file's SHA-512 equals the source's" "$(diff <(sums "$src") <(sums "$d/dest" 2>/dev/null) | head -3 | tr '\n' ' ')"
fi
meta() { (cd "$1" && find . -printf '%p %y %m %l\n' | sort); }
if [ "$(meta "$src")" = "$(meta "$d/dest" 2>/dev/null)" ]; then
  t_ok "fetch: the tree (types, modes, links) equals the source's"
else
  t_fail "fetch: the tree (types, modes, links) equals the source's" "$(diff <(meta "$src") <(meta "$d/dest") | head -3 | tr '\n' ' ')"
fi
if [ ! -e "$d/work/objects" ]; then t_ok "fetch: the object store in RAM is removed"; else t_fail "fetch: the object store in RAM is removed"; fi
t_expect_fail "fetch: dest must not exist" 'exists' "$tc" fetch "$cfg" medium "$d/work" "$d/dest"

# --- refusals ---
# A work directory in too little RAM: refused before the download, nothing left.
mkdir -p "$d/small"
if mount -t tmpfs -o size=2m tmpfs "$d/small" 2>/dev/null; then
  t_cleanup umount "$d/small"
  t_expect_fail "fetch: too little RAM for the image is said before the download" \
    'image smallstack/hypervisor/v1 needs [0-9]+ MiB in .*/small, only [0-9]+ MiB free' \
    "$tc" fetch "$cfg" medium "$d/small" "$d/small/dest"
  if [ -z "$(ls -A "$d/small")" ]; then t_ok "fetch: and leaves nothing in it"; else t_fail "fetch: and leaves nothing in it" "$(ls -A "$d/small")"; fi
else
  t_skip "fetch: too little RAM for the image" "cannot mount a tmpfs (not root?)"
fi
echo "smallstack/nope" >"$cfg/imagename"
t_expect_fail "fetch: a missing image" 'smallstack/nope not found' "$tc" fetch "$cfg" medium "$d/work" "$d/d1"
echo "smallstack/hypervisor/v9" >"$cfg/imagename"
t_expect_fail "fetch: a missing image in a stream" 'image smallstack/hypervisor/v9 not found' \
  "$tc" fetch "$cfg" medium "$d/work" "$d/d1"
echo "smallstack/hypervisor" >"$cfg/imagename"
mv "$cfg/imageserver" "$d/imageserver.saved"
t_expect_fail "fetch: no imageserver file (and no flag naming one)" 'no imageserver given' \
  "$tc" fetch "$cfg" medium "$d/work" "$d/d1"
mv "$d/imageserver.saved" "$cfg/imageserver"
closed=$(srpc_free_port)
echo "127.0.0.1:$closed" >"$cfg/imageserver"
t_expect_fail "fetch: an unreachable imageserver" "imageserver 127.0.0.1:$closed: unreachable" \
  "$tc" fetch "$cfg" medium "$d/work" "$d/d1"
echo "127.0.0.2:$port" >"$cfg/imageserver"
t_expect_fail "fetch: a certificate for another host is refused" \
  'imageserver 127.0.0.2:[0-9]+: certificate verify failed: x509: certificate is not valid for host 127.0.0.2' \
  "$tc" fetch "$cfg" medium "$d/work" "$d/d1"
rport=
if srpc_imageserver "$d" "$d/rogue" rogue rport; then
  echo "localhost:$rport" >"$cfg/imageserver"
  t_expect_fail "fetch: a server certificate from another CA is refused" \
    "imageserver localhost:$rport: certificate verify failed: x509: certificate for host localhost not trusted" \
    "$tc" fetch "$cfg" medium "$d/work" "$d/d1"
else
  t_fail "rogue imageserver starts"
fi
echo "localhost:$port" >"$cfg/imageserver"

# An object corrupted on the server's disk, then one missing there.
mkdir -p "$d/csrc"
head -c $((2 << 20)) /dev/urandom >"$d/csrc/victim"
echo intact >"$d/csrc/other"
t_check "add test/c1" "${IT[@]}" add test/c1 "$d/csrc"
h=$(sha512sum "$d/csrc/victim" | cut -c1-128)
obj=$d/srv/objects/${h:0:2}/${h:2}
chmod u+w "$obj"
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 0xff]))' "$obj"
echo "test/c1" >"$cfg/imagename"
t_expect_fail "fetch: an object corrupted on the server's disk is refused, naming its hash" \
  "object $h: .*(mismatch|corrupt)" "$tc" fetch "$cfg" medium "$d/work" "$d/d2"
note "$tc" fetch "$cfg" medium "$d/work" "$d/d2"
if [ ! -e "$d/d2" ] && [ ! -e "$d/work/objects" ]; then t_ok "fetch: a refused image leaves no tree and no store"; else t_fail "fetch: a refused image leaves no tree and no store" "$(ls "$d" "$d/work")"; fi
mkdir -p "$d/msrc"
head -c 100000 /dev/urandom >"$d/msrc/gone"
t_check "add test/c2" "${IT[@]}" add test/c2 "$d/msrc"
h=$(sha512sum "$d/msrc/gone" | cut -c1-128)
rm -f "$d/srv/objects/${h:0:2}/${h:2}"
echo "test/c2" >"$cfg/imagename"
t_expect_fail "fetch: an object missing on the server is refused, naming its hash" "object $h" \
  "$tc" fetch "$cfg" medium "$d/work" "$d/d3"
note "$tc" fetch "$cfg" medium "$d/work" "$d/d3"
echo "smallstack/hypervisor" >"$cfg/imagename"

# --- the data partition tree ---
sys=$d/sys
mkdir -p "$sys/class/net/eth0" "$sys/class/net/eth1" "$sys/class/net/lo"
printf '1\n' >"$sys/class/net/eth0/type"
printf '52:54:00:12:34:56\n' >"$sys/class/net/eth0/address"
printf '1\n' >"$sys/class/net/eth0/carrier"
printf '1\n' >"$sys/class/net/eth1/type"
printf '52:54:00:ab:cd:ef\n' >"$sys/class/net/eth1/address"
printf '1\n' >"$sys/class/net/eth1/carrier"
printf '772\n' >"$sys/class/net/lo/type"
printf '00:00:00:00:00:00\n' >"$sys/class/net/lo/address"
data=$d/data
mkdir -p "$data"
t_expect "stage: the data partition tree" '^ok$' "$tc" stage "$cfg" medium "$sys" "$data"
check_file() { # NAME FILE EXPECTED
  if [ "$(cat "$2" 2>/dev/null)" = "$3" ]; then t_ok "$1"; else t_fail "$1" "$(head -c 300 "$2" 2>&1 | tr '\n' '|')"; fi
}
check_file "stage: etc/hostname is the first label" "$data/etc/hostname" "m1"
expected_ifs=$(printf '%s\n' '# /etc/network/interfaces -- created by SmallStack installer' '' \
  'auto lo' 'iface lo inet loopback' '' 'auto br0' 'iface br0 inet static' \
  '	address      10.9.0.5' '	netmask      255.255.255.0' '	gateway      10.9.0.1' \
  '	hwaddress    52:54:00:12:34:56' '	bridge_ports eth0' '' 'auto eth1' 'iface eth1 inet manual' \
  '' 'auto eth1.7' 'iface eth1.7 inet manual' '	vlan-raw-device eth1' '' 'auto br7' \
  'iface br7 inet manual' '	bridge_ports eth1.7')
check_file "stage: etc/network/interfaces (managed bridge, VLAN 7 on the free NIC)" \
  "$data/etc/network/interfaces" "$expected_ifs"
check_file "stage: etc/resolv.conf" "$data/etc/resolv.conf" \
  "$(printf '; /etc/resolv.conf -- created by SmallStack installer\n\ndomain example.net\nsearch example.net\n\nnameserver 10.9.0.53')"
if cmp -s "$data/etc/ssl/hypervisor/key.pem" "$d/machine.key" && [ "$(stat -c %a "$data/etc/ssl/hypervisor/key.pem")" = 600 ]; then
  t_ok "stage: the hypervisor's key, mode 0600"
else
  t_fail "stage: the hypervisor's key, mode 0600" "$(stat -c %a "$data/etc/ssl/hypervisor/key.pem" 2>&1)"
fi
if cmp -s "$data/etc/ssl/hypervisor/cert.pem" "$d/machine.cert" && cmp -s "$data/etc/ssl/CA.pem" "$d/CA.pem" &&
  cmp -s "$data/etc/ssl/IdentityCA.pem" "$d/IdentityCA.pem"; then
  t_ok "stage: cert.pem, CA.pem, IdentityCA.pem"
else
  t_fail "stage: cert.pem, CA.pem, IdentityCA.pem"
fi
check_file "stage: flags.default names the imageserver" "$data/etc/hypervisor/flags.default" \
  "$(printf '# written by the installer: where this hypervisor fetches images\nimageServerHostname=localhost\nimageServerPortNum=%s' "$port")"
if python3 - "$data/lib/hypervisor/subnets.json" <<'EOF'; then t_ok "stage: subnets.json is the Subnet list"; else t_fail "stage: subnets.json is the Subnet list" "$(head -c 300 "$data/lib/hypervisor/subnets.json")"; fi
import json, sys
l = json.load(open(sys.argv[1]))
assert [s["Id"] for s in l] == ["lan", "v7"], l
assert l[0]["IpGateway"] == "10.9.0.1" and l[0]["Manage"] is True and l[1]["VlanId"] == 7
EOF
for f in config.json imagename imageserver storage-layout.json; do
  cmp -s "$cfg/$f" "$data/etc/installer/$f" || t_fail "stage: etc/installer/$f is the configuration's"
done
t_ok "stage: etc/installer holds config.json, imagename, imageserver, storage-layout.json"
secrets=$(cd "$data" && grep -rlE 'PRIVATE KEY' . | grep -v '^./etc/ssl/hypervisor/key.pem$'; find . -name '*token*' -o -name '*seed*' -o -name 'key.pem' | grep -v '^./etc/ssl/hypervisor/key.pem$')
token=$(tr -d '\n' <"$cfg/enrol-token")
if [ -z "$secrets" ] && ! grep -rq "$token" "$data"; then
  t_ok "stage: no private key (but the hypervisor's), no token anywhere else in the tree"
else
  t_fail "stage: no private key (but the hypervisor's), no token anywhere else in the tree" "$secrets"
fi
if [ -f "$data/log/installer/tftpdata/config.json" ] && [ -f "$data/log/installer/log" ]; then
  t_ok "stage: log/installer has the log and the configuration"
else
  t_fail "stage: log/installer has the log and the configuration" "$(find "$data/log" 2>&1 | head -5)"
fi
if [ -z "$(find "$data" -name '*~')" ]; then t_ok "stage: no temporary files left"; else t_fail "stage: no temporary files left"; fi

