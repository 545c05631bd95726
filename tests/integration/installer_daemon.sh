#!/usr/bin/env bash
# timeout: 240
# serial
# shellcheck shell=bash
# The installer program itself (installer/main.c, status.c, net.c, progress.c) on the
# host, in a private network namespace, with real certificates and no disk
# (-dryRun -skipStorage): usage and bad flags, the sub-commands that need no machine,
# the ISO/USB sequence (markers, the NIC chosen by MAC and subnet, the log file), a
# failure's message, and the PXE sequence: waiting in the "enrol" step with the status
# page up, Installer.Shell over mTLS (a PTY shell with the log; refused to a stranger
# CA, an identity-only certificate and one without grants), SIGHUP re-executing, the
# enrolment methods with a real client (refusals: a wrong token, a request signed for
# another key), then SIGTSTP holding the end until SIGCONT. Last, kexec-image (dry
# run) against a real imageserver: the image fetched, this machine's configuration
# and certificates appended to its initrd as a tftpdata/ archive.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"
t_require curl "the status page"
t_require ip "the network namespace"

inst=$SS_BIN/installer
shc=$SS_BIN/inst-shell-testc
enc=$SS_BIN/enrol-testc
d=$(mktemp -d "/tmp/${SS_ID}-instd.XXXXXX")
t_cleanup rm -rf "$d"
ns=${SS_ID}id
port=6978

note() { "$@" 2>&1 | sed 's/^/# /'; }

# --- usage, flags, sub-commands ---
t_expect "-h prints the usage and the flags" 'Usage: installer \[flags' "$inst" -h
t_expect "-h lists -configSource" '-configSource string' "$inst" -h
t_expect_fail --exit=2 "a flag that does not exist: exit 2" 'flag provided but not defined: -noSuchFlag' \
  "$inst" -noSuchFlag
t_expect_fail --exit=2 "-configSource must be initramfs, medium or network" 'must be initramfs, medium or network' \
  "$inst" -configSource=usb
t_expect_fail --exit=2 "an unknown command" 'unknown command: frobnicate' "$inst" frobnicate
t_expect_fail --exit=2 "kexec-image without -yes is refused" 'run again with -yes' "$inst" kexec-image some/image
t_expect "decode-base64" '^hello installer$' sh -c "printf 'aGVsbG8gaW5zdGFsbGVyCg==' | '$inst' decode-base64"
t_expect_fail "decode-base64: bad input" 'bad input' sh -c "printf 'a\$\$b!!' | '$inst' decode-base64"
n=$("$inst" generate-random | head -c 3145728 | wc -c)
if [ "$n" = 3145728 ]; then t_ok "generate-random: 3 MiB and it stops when the reader goes"; else t_fail "generate-random" "$n bytes"; fi

# list-drives: a loop disk named with -drives (the sysfs scan skips loop devices)
truncate -s 16M "$d/disk.img"
if loopdev=$(losetup -f --show "$d/disk.img" 2>/dev/null); then
  t_cleanup losetup -d "$loopdev"
  ln=$(basename "$loopdev")
  t_expect "list-drives: the named drive, its device and size" "^$ln $loopdev 16777216 " \
    "$inst" list-drives -drives="$ln"
  t_expect_fail "list-drives: an unknown drive is refused" 'nosuchdisk' "$inst" list-drives -drives=nosuchdisk
else
  t_skip "list-drives" "no loop device available"
fi

# --- certificates ---
if ! srpc_ca "$d" CA || ! srpc_ca "$d" IdentityCA || ! srpc_ca "$d" OtherCA; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" admin CA admin grants='Installer.*'
srpc_cert "$d" nogrants CA bob
srpc_cert "$d" idonly IdentityCA carol
srpc_cert "$d" stranger OtherCA mallory grants='*.*'
srpc_cert "$d" machine CA m1.example.net san=DNS:m1.example.net,IP:10.9.0.5

# --- the namespace: one NIC with the machine's MAC, one with another ---
ip netns add "$ns" || { t_fail "netns"; exit 0; }
t_cleanup ip netns del "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add "${SS_ID}a" address 52:54:00:12:34:56 type veth peer name "${SS_ID}ap"
ip -n "$ns" link add "${SS_ID}b" address 52:54:00:aa:bb:cc type veth peer name "${SS_ID}bp"
nsx() { ip netns exec "$ns" "$@"; }

mkcfg() { # DIR: the configuration of m1 as an ISO carries it
  mkdir -p "$1"
  cat >"$1/config.json" <<EOF
{
    "Machine": {
        "Hostname": "m1.example.net",
        "HostIpAddress": "10.9.0.5",
        "HostMacAddress": "52:54:00:12:34:56",
        "IPMI": {},
        "SecondaryNetworkEntries": [
            {"HostIpAddress": "10.8.0.5", "HostMacAddress": "52:54:00:aa:bb:cc"}
        ]
    },
    "Subnets": [
        {"Id": "lan", "IpGateway": "10.9.0.1", "IpMask": "255.255.255.0",
         "DomainName": "example.net", "DomainNameServers": ["10.9.0.53"], "Manage": true}
    ]
}
EOF
  echo "smallstack/hypervisor" >"$1/imagename"
  echo "localhost:6971" >"$1/imageserver"
  cp "$d/CA.pem" "$1/CA.pem"
  cp "$d/IdentityCA.pem" "$1/IdentityCA.pem"
}

# run NAME FLAGS...: the installer in the namespace, in the background; its pid in $pid
# (ip netns exec forks: the shell writes its own pid, then becomes the installer)
run() {
  local name=$1 i
  shift
  mkdir -p "$d/$name"
  rm -f "$d/$name/pid"
  # shellcheck disable=SC2016 # $$ and $@ are the inner shell's
  nsx sh -c 'echo $$ >"$0"; exec "$@"' "$d/$name/pid" "$inst" -dryRun -testMode -skipStorage \
    -consoleShell=false -portNum=$port -workDirectory="$d/$name/work" -logDir="$d/$name/log" \
    -buildTimestampFile="$d/ts" -resolvConf="$d/$name/resolv.conf" -shellCommand=/bin/sh,-i "$@" \
    >"$d/$name/out" 2>&1 </dev/null &
  job=$!
  for ((i = 0; i < 50; i++)); do
    [ -s "$d/$name/pid" ] && break
    sleep 0.1
  done
  pid=$(cat "$d/$name/pid")
  t_cleanup kill -9 "$pid"
}
# wait_for NAME PATTERN [SECONDS]: until the output holds PATTERN
wait_for() {
  local i
  for ((i = 0; i < ${3:-10} * 10; i++)); do
    grep -qE "$2" "$d/$1/out" && return 0
    sleep 0.1
  done
  return 1
}
# wait_exit PID SECONDS: its exit status (through ip netns exec, $job), or 124 if it
# still runs after SECONDS
wait_exit() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || { wait "$job"; return $?; }
    sleep 0.1
  done
  return 124
}
touch -d '2020-01-01' "$d/ts"

# --- ISO/USB: cert.pem + key.pem on the medium ---
mkcfg "$d/iso/tftpdata"
cp "$d/machine.cert" "$d/iso/tftpdata/cert.pem"
cp "$d/machine.key" "$d/iso/tftpdata/key.pem"
run iso -configSource=medium -tftpDirectory="$d/iso/tftpdata"
wait_exit "$pid" 30
rc=$?
note tail -20 "$d/iso/out"
if [ "$rc" = 0 ] && grep -q 'installer: install complete' "$d/iso/out"; then
  t_ok "medium: install complete (dry run, no storage), exit 0 in test mode"
else
  t_fail "medium: install complete" "exit $rc"
fi
for s in config network; do
  if grep -qE "^\[ *[0-9]+\.[0-9]{3}\] installer: step $s: begin$" "$d/iso/out" &&
    grep -qE "^\[ *[0-9]+\.[0-9]{3}\] installer: step $s: done in [0-9]+\.[0-9]{3} s" "$d/iso/out"; then
    t_ok "medium: step $s begin/done markers with [seconds] prefixes"
  else
    t_fail "medium: step $s markers"
  fi
done
t_expect "medium: the NIC whose MAC and subnet match, statically" \
  "network: ${SS_ID}a 10\.9\.0\.5 netmask 255\.255\.255\.0, default via 10\.9\.0\.1 \(subnet lan\)" cat "$d/iso/out"
t_expect "medium: the log file (latest) holds the same lines" 'installer: install complete' cat "$d/iso/log/latest"
t_expect "medium: the port's certificate is the medium's (cert.pem)" 'dry run: would reboot' cat "$d/iso/out"
if [ ! -e "$d/iso/work/self-cert.pem" ]; then t_ok "medium: no self-signed certificate made"; else t_fail "medium: self-signed certificate made"; fi

# --- for real (no dry run) in a PID namespace: the network applied, then the end ---
# reboot(2) in a PID namespace other than the first only ends that namespace (the
# kernel kills its init): never the machine. sh checks that it is that init first.
inpidns() { # NAME FLAGS...: the installer for real, as the child of a PID namespace's init
  local name=$1
  shift
  mkdir -p "$d/$name"
  # shellcheck disable=SC2016 # the inner shell's $$ and $@
  nsx unshare --pid --fork --mount-proc sh -c 'test $$ = 1 || exit 99; "$@"; echo "installer returned $?"' \
    sh "$inst" -dryRun=false -testMode -skipStorage -consoleShell=false -portNum=$port \
    -workDirectory="$d/$name/work" -logDir="$d/$name/log" -buildTimestampFile="$d/ts" \
    -resolvConf="$d/$name/resolv.conf" "$@" >"$d/$name/out" 2>&1 </dev/null
}
ip -n "$ns" link set "${SS_ID}ap" up
mkcfg "$d/real/tftpdata"
cp "$d/machine.cert" "$d/real/tftpdata/cert.pem"
cp "$d/machine.key" "$d/real/tftpdata/key.pem"
inpidns real -configSource=medium -tftpDirectory="$d/real/tftpdata"
note tail -4 "$d/real/out"
if grep -q 'installer: install complete' "$d/real/out" && grep -q 'installer: rebooting' "$d/real/out" &&
  ! grep -q 'installer returned' "$d/real/out"; then
  t_ok "for real: install complete, then the reboot (test mode: at once)"
else
  t_fail "for real: reboot" "$(tail -3 "$d/real/out" | tr '\n' ' ')"
fi
t_expect "for real: the chosen NIC has the address" "inet 10\.9\.0\.5/24 .*${SS_ID}a" ip -n "$ns" -4 addr show "${SS_ID}a"
t_expect "for real: the default route via the subnet's gateway" "default via 10\.9\.0\.1 dev ${SS_ID}a" ip -n "$ns" route show default
if [ "$(cat "$d/real/resolv.conf" 2>/dev/null)" = "$(printf 'search example.net\nnameserver 10.9.0.53')" ]; then
  t_ok "for real: resolv.conf from the subnet"
else
  t_fail "for real: resolv.conf" "$(tr '\n' ' ' <"$d/real/resolv.conf" 2>/dev/null)"
fi
if ! ip -n "$ns" -4 addr show "${SS_ID}b" | grep -q inet; then t_ok "for real: the other NIC has no address"; else t_fail "for real: other NIC addressed"; fi
mkcfg "$d/realfail/tftpdata"
inpidns realfail -configSource=medium -tftpDirectory="$d/realfail/tftpdata" # neither cert.pem nor enrol-token
note grep FAILED "$d/realfail/out"
if grep -q 'installer: FAILED: ' "$d/realfail/out" && grep -q 'test mode: powering off' "$d/realfail/out" &&
  ! grep -q 'installer returned' "$d/realfail/out"; then
  t_ok "for real: a failure in test mode powers off at once"
else
  t_fail "for real: failure powers off" "$(tail -3 "$d/realfail/out" | tr '\n' ' ')"
fi

# --- a NIC that matches nothing: the failure's message ---
mkcfg "$d/nonic/tftpdata"
cp "$d/machine.cert" "$d/machine.key" "$d/nonic/tftpdata/"
mv "$d/nonic/tftpdata/machine.cert" "$d/nonic/tftpdata/cert.pem"
mv "$d/nonic/tftpdata/machine.key" "$d/nonic/tftpdata/key.pem"
sed -i 's/52:54:00:12:34:56/52:54:00:00:00:01/; s/52:54:00:aa:bb:cc/52:54:00:00:00:02/' "$d/nonic/tftpdata/config.json"
run nonic -configSource=medium -tftpDirectory="$d/nonic/tftpdata"
wait_exit "$pid" 30
rc=$?
if [ "$rc" = 1 ] && grep -q 'installer: step network: FAILED: no network interfaces match injected configuration' "$d/nonic/out" &&
  grep -q 'installer: FAILED: no network interfaces match' "$d/nonic/out"; then
  t_ok "no matching NIC: step and install FAILED markers, exit 1"
else
  t_fail "no matching NIC" "exit $rc: $(tail -3 "$d/nonic/out" | tr '\n' ' ')"
fi

# --- a configuration without CA.pem: refused before anything else ---
mkcfg "$d/noca/tftpdata"
rm "$d/noca/tftpdata/CA.pem"
run noca -configSource=medium -tftpDirectory="$d/noca/tftpdata"
wait_exit "$pid" 30
rc=$?
if [ "$rc" = 1 ] && grep -qE 'installer: FAILED: .*CA\.pem' "$d/noca/out"; then
  t_ok "no CA.pem: a clear failure, exit 1"
else
  t_fail "no CA.pem" "exit $rc: $(tail -3 "$d/noca/out" | tr '\n' ' ')"
fi

# --- PXE: enrol-token, no key: the installer waits in "enrol" ---
mkcfg "$d/pxe/tftpdata"
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >"$d/pxe/tftpdata/enrol-token"
run pxe -configSource=network -skipNetwork -tftpDirectory="$d/pxe/tftpdata"
if wait_for pxe 'installer: step enrol: begin' 20; then
  t_ok "network: waits in the enrol step"
else
  t_fail "network: waits in the enrol step" "$(tail -5 "$d/pxe/out" | tr '\n' ' ')"
fi
t_expect "status page: the steps, enrol running" 'enrol</td><td>running' nsx curl -sf "http://127.0.0.1:$port/"
t_expect "/progress: config done, enrol running" '^enrol running' nsx curl -sf "http://127.0.0.1:$port/progress"
t_expect "/logs: the log" 'installer: step enrol: begin' nsx curl -sf "http://127.0.0.1:$port/logs?output=text"

# SIGHUP: the same process runs again from the start (a new key, a new wait).
kill -HUP "$pid"
count() { grep -c "$2" "$d/$1/out"; }
for _ in $(seq 100); do
  [ "$(count pxe 'installer: step enrol: begin')" -ge 2 ] && break
  sleep 0.1
done
if grep -q 'SIGHUP: restarting the installer' "$d/pxe/out" && [ "$(count pxe 'installer .* starting')" = 2 ] &&
  [ "$(count pxe 'installer: step enrol: begin')" = 2 ] && kill -0 "$pid" &&
  [ "$(cat "/proc/$pid/comm")" = installer ]; then
  t_ok "SIGHUP: re-executed in the same process, waiting again"
else
  t_fail "SIGHUP: re-executed" "$(tail -5 "$d/pxe/out" | tr '\n' ' ')"
fi

# Installer.Shell: a PTY shell with the log so far, for a CA.pem grant only.
SH=("$shc" -address="127.0.0.1:$port" -timeout=15)
# shellcheck disable=SC2016 # the remote shell expands it
out=$(nsx "${SH[@]}" -certFile="$d/admin.cert" -keyFile="$d/admin.key" 'tty; echo shell-$((6*7)); exit\n' 2>&1)
note echo "$out" | head -3
if grep -q 'Logs so far:' <<<"$out" && grep -q 'installer: step enrol: begin' <<<"$out" &&
  grep -qE 'Starting shell on: /dev/pts/[0-9]+\.\.\.' <<<"$out" && grep -q 'shell-42' <<<"$out" &&
  grep -qE '(^|# )/dev/pts/[0-9]+$' <<<"$(tr -d '\r' <<<"$out")"; then
  t_ok "Shell: logs so far, a PTY, commands run"
else
  t_fail "Shell" "$(tail -5 <<<"$out" | tr '\n' ' ')"
fi
t_expect "Shell: the session was logged" 'remote shell for admin from .* on /dev/pts/' cat "$d/pxe/out"
t_expect_fail "Shell: refused without a grant (CA.pem cert, no methods)" 'access to method denied|denied' \
  nsx "${SH[@]}" -certFile="$d/nogrants.cert" -keyFile="$d/nogrants.key" 'echo x\n'
t_expect_fail "Shell: refused to an identity-only certificate" 'access to method denied|denied' \
  nsx "${SH[@]}" -certFile="$d/idonly.cert" -keyFile="$d/idonly.key" 'echo x\n'
t_expect_fail "Shell: refused to a certificate of another CA" 'bad certificate|certificate|handshake|alert' \
  nsx "${SH[@]}" -certFile="$d/stranger.cert" -keyFile="$d/stranger.key" 'echo x\n'

# A shell kept open shows on the status page; new log lines reach it.
nsx "${SH[@]}" -certFile="$d/admin.cert" -keyFile="$d/admin.key" 'sleep 4; exit\n' >"$d/shell2" 2>&1 &
spid=$!
sleep 1.5
t_expect "status page: the open shell, its user" '/dev/pts/[0-9]+</td><td>admin' nsx curl -sf "http://127.0.0.1:$port/"

# Enrolment: refusals first, then the real thing.
EN=("$enc" -address="127.0.0.1:$port" -hostname=m1.example.net -ip=10.9.0.5 -caCert="$d/CA.pem"
  -caKey="$d/CA.key" -identityCaFile="$d/IdentityCA.pem" -certFile="$d/admin.cert" -keyFile="$d/admin.key")
other=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
t_expect_fail "enrol: a Mac made with another token is refused" 'Mac|refused' nsx "${EN[@]}" -token="$token" -setMacToken="$other"
t_expect_fail "enrol: a certificate for another key is refused" 'key|refused' nsx "${EN[@]}" -token="$token" -otherKey
t_expect_fail "enrol: the client refuses a request whose Mac is not its token's" 'Mac|token' nsx "${EN[@]}" -token="$other"
if grep -q 'enrolment: certificates from admin .*: ' "$d/pxe/out" && ! grep -q 'step enrol: done' "$d/pxe/out"; then
  t_ok "enrol: still waiting after the refusals"
else
  t_fail "enrol: still waiting after the refusals"
fi
wait "$spid"
t_expect "Shell: new log lines reach an open shell" 'enrolment: certificates from admin' cat "$d/shell2"

# SIGTSTP now: the end waits for SIGCONT.
kill -TSTP "$pid"
t_expect "enrol: a real client enrols the machine" '' nsx "${EN[@]}" -token="$token"
if wait_for pxe 'installer: step enrol: done' 10 && wait_for pxe 'installer: install complete' 10; then
  t_ok "enrol: step done, install complete"
else
  t_fail "enrol: step done" "$(tail -5 "$d/pxe/out" | tr '\n' ' ')"
fi
if [ "$(stat -c %a "$d/pxe/work/key.pem" 2>/dev/null)" = 600 ] &&
  [ "$(openssl x509 -in "$d/pxe/work/cert.pem" -noout -pubkey)" = "$(openssl pkey -in "$d/pxe/work/key.pem" -pubout)" ] &&
  [ "$(openssl x509 -in "$d/pxe/work/self-cert.pem" -noout -pubkey)" = "$(openssl pkey -in "$d/pxe/work/key.pem" -pubout)" ] &&
  openssl verify -CAfile "$d/CA.pem" "$d/pxe/work/cert.pem" >/dev/null; then
  t_ok "enrol: cert.pem chains to CA.pem, for the port's key; key.pem 0600"
else
  t_fail "enrol: cert.pem and key.pem"
fi
if ! grep -rq 'PRIVATE KEY' "$d/pxe/tftpdata"; then t_ok "enrol: no key in the configuration directory"; else t_fail "enrol: a key in tftpdata"; fi
if wait_for pxe 'reboot held \(SIGTSTP\): waiting for SIGCONT' 10 && sleep 1 && kill -0 "$pid"; then
  t_ok "SIGTSTP: the end is held"
else
  t_fail "SIGTSTP: the end is held"
fi
t_expect "status page: reboot held" 'reboot held' nsx curl -sf "http://127.0.0.1:$port/progress"
kill -CONT "$pid"
wait_exit "$pid" 10
rc=$?
if [ "$rc" = 0 ] && grep -q 'dry run: would reboot' "$d/pxe/out"; then
  t_ok "SIGCONT: the end goes on (dry run: would reboot), exit 0"
else
  t_fail "SIGCONT" "exit $rc"
fi
if ! nsx curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then t_ok "the port is closed after the end"; else t_fail "port still open"; fi

# --- kexec-image (dry run): a real imageserver, the initrd with tftpdata/ appended ---
srpc_cert "$d" isrv CA imageserver san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" alice CA alice grants='ImageServer.*,ObjectServer.*'
export HOME=$d/home
mkdir -p "$HOME/.ssl" "$d/is" "$d/img/src"
cp "$d/alice.cert" "$d/alice.key" "$HOME/.ssl/"
isport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SS_BIN/imageserver" -portNum="$isport" -imageDir="$d/is/images" -objectDir="$d/is/objects" \
  -CAfile="$d/CA.pem" -identityCAfile="$d/IdentityCA.pem" -certFile="$d/isrv.cert" \
  -keyFile="$d/isrv.key" -logDir="$d/is/log" >"$d/is/stderr" 2>&1 &
t_cleanup kill "$!"
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$isport/" && break
  sleep 0.1
done
head -c 1048576 /dev/urandom >"$d/img/src/vmlinuz"
head -c 100001 /dev/urandom >"$d/img/src/initrd.img"
IT=("$SS_BIN/imagetool" -imageServerPortNum="$isport" -CAfile="$d/CA.pem")
if "${IT[@]}" mkdir smallstack/installer >/dev/null 2>&1 &&
  "${IT[@]}" add smallstack/installer/v1 "$d/img/src" >/dev/null 2>&1; then
  t_ok "kexec-image: an installer image on a real imageserver"
else
  t_fail "kexec-image: the image" "$(tail -3 "$d/is/stderr" | tr '\n' ' ')"
fi
mkcfg "$d/etcinst"
echo "localhost:$isport" >"$d/etcinst/imageserver"
echo "tmpRoot=/nowhere" >"$d/etcinst/flags.default"
echo "not to travel" >"$d/etcinst/old-key.pem"
echo "0123" >"$d/etcinst/enrol-token"
KX=("$inst" kexec-image -yes -dryRun -configDirectory="$d/etcinst" -workDirectory="$d/kx"
  -certFile="$d/machine.cert" -keyFile="$d/machine.key" -CAfile="$d/CA.pem"
  -identityCAfile="$d/IdentityCA.pem")
t_expect "kexec-image: fetched, the initrd made, kexec planned (dry run)" \
  "dry run: would kexec -l $d/kx/kexec-image/image/vmlinuz --initrd=$d/kx/kexec-image/initrd-tftpdata.img --append=\"console=tty0 console=ttyS0,115200n8\"" \
  "${KX[@]}" smallstack/installer
new=$d/kx/kexec-image/initrd-tftpdata.img
if cmp -s -n 100001 "$new" "$d/img/src/initrd.img"; then
  t_ok "kexec-image: the image's initrd comes first, unchanged"
else
  t_fail "kexec-image: the initrd's start"
fi
tail -c +100005 "$new" >"$d/kx/appended.cpio"
listing=$(cpio -itv <"$d/kx/appended.cpio" 2>/dev/null)
note echo "$listing"
names=$(awk '{print $NF}' <<<"$listing" | sort | tr '\n' ' ')
want="tftpdata tftpdata/CA.pem tftpdata/IdentityCA.pem tftpdata/cert.pem tftpdata/config.json tftpdata/imagename tftpdata/imageserver tftpdata/key.pem "
if [ "$names" = "$want" ]; then
  t_ok "kexec-image: the appended newc archive holds tftpdata/ (configuration, CAs, cert, key)"
else
  t_fail "kexec-image: the archive" "$names"
fi
if grep -qE '^-rw------- .* tftpdata/key\.pem$' <<<"$listing"; then t_ok "kexec-image: key.pem 0600 in the archive"; else t_fail "kexec-image: key.pem mode"; fi
mkdir -p "$d/kx/x"
(cd "$d/kx/x" && cpio -id --quiet <"$d/kx/appended.cpio")
if cmp -s "$d/kx/x/tftpdata/key.pem" "$d/machine.key" && cmp -s "$d/kx/x/tftpdata/config.json" "$d/etcinst/config.json"; then
  t_ok "kexec-image: the files' contents"
else
  t_fail "kexec-image: the files' contents"
fi
t_expect_fail "kexec-image: a missing image is a clear failure" 'kexec-image: .*(not found|no image)' \
  "${KX[@]}" smallstack/nothing
t_expect_fail "kexec-image: IMAGE is required" 'takes one argument' "$inst" kexec-image -yes
