#!/usr/bin/env bash
# timeout: 240
# hyper-control's live streams (docs/hyper-control/term.md) against real daemons with
# real certificates: installer-shell against the real installer (dry run, in a network
# namespace) — the back-off ("trying to connect", dots) while nothing listens, then a
# command run in the installer's shell from a pipe, and the refusal of a PXE
# installer's self-signed certificate; connect-to-vm-manager and watch-dhcp against a
# real hypervisor daemon (libvirt's test driver) with a DHCP client on its bridge:
# one file per packet, the counter incrementing (weakness 20), one file per option.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require openssl "certificates are made at test time"
t_require curl "the daemon's /healthz is fetched with curl"

hc=$SS_BIN/hyper-control
d=$(mktemp -d "/tmp/${SS_ID}-hct.XXXXXX")
t_cleanup rm -rf "$d"
export HOME=$d/home HYPER_CONTROL_SYSCONFDIR=$d/etc
mkdir -p "$HOME" "$HYPER_CONTROL_SYSCONFDIR" "$d/admin" "$d/stranger"

if ! srpc_ca "$d" CA || ! srpc_ca "$d" IdentityCA || ! srpc_ca "$d" OtherCA; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" admin CA admin grants='Installer.*'
mv "$d/admin.cert" "$d/admin.key" "$d/admin/"
srpc_cert "$d" machine CA m1.example.net san=DNS:localhost,IP:127.0.0.1

# ---- installer-shell ----
ns=${SS_ID}it
ip netns add "$ns" || { t_fail "netns"; exit 0; }
t_cleanup ip netns del "$ns"
ip -n "$ns" link set lo up
nsx() { ip netns exec "$ns" "$@"; }

mkcfg() { # DIR
  mkdir -p "$1"
  cat >"$1/config.json" <<EOF
{
    "Machine": {"Hostname": "m1.example.net", "HostIpAddress": "10.9.0.5",
                "HostMacAddress": "52:54:00:12:34:56", "IPMI": {}},
    "Subnets": [{"Id": "lan", "IpGateway": "10.9.0.1", "IpMask": "255.255.255.0",
                 "DomainNameServers": ["10.9.0.53"]}]
}
EOF
  echo "smallstack/hypervisor" >"$1/imagename"
  echo "localhost:6971" >"$1/imageserver"
  cp "$d/CA.pem" "$1/CA.pem"
  cp "$d/IdentityCA.pem" "$1/IdentityCA.pem"
}
touch -d '2020-01-01' "$d/ts"
# installer NAME PORT FLAGS...: the installer in the namespace (dry run, no test mode:
# it stays up after the install), in the background
installer() {
  local name=$1 port=$2 i
  shift 2
  mkdir -p "$d/$name"
  # shellcheck disable=SC2016 # $$ and $@ are the inner shell's
  nsx sh -c 'echo $$ >"$0"; exec "$@"' "$d/$name/pid" "$SS_BIN/installer" -dryRun -skipStorage -skipNetwork \
    -consoleShell=false -portNum="$port" -workDirectory="$d/$name/work" -logDir="$d/$name/log" \
    -buildTimestampFile="$d/ts" -resolvConf="$d/$name/resolv.conf" -shellCommand=/bin/sh,-i "$@" \
    >"$d/$name/out" 2>&1 </dev/null &
  for ((i = 0; i < 50; i++)); do
    [ -s "$d/$name/pid" ] && break
    sleep 0.1
  done
  t_cleanup kill -9 "$(cat "$d/$name/pid")"
}
hci() { nsx "$hc" -certDirectory="$d/admin" -CAfile="$d/CA.pem" "$@"; }

mkcfg "$d/iso/tftpdata"
cp "$d/machine.cert" "$d/iso/tftpdata/cert.pem"
cp "$d/machine.key" "$d/iso/tftpdata/key.pem"
# shellcheck disable=SC2016 # the remote shell expands it
printf 'echo marker-$((40+2))\nexit\n' >"$d/shell.in"
# The client first: nothing listens on the port yet.
hci -installerPortNum=6978 installer-shell 127.0.0.1 <"$d/shell.in" >"$d/shell.out" 2>&1 &
client=$!
t_cleanup kill "$client"
sleep 2
installer iso 6978 -configSource=medium -tftpDirectory="$d/iso/tftpdata"
for ((i = 0; i < 300; i++)); do kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$client" 2>/dev/null; then
  rc=timeout
else
  wait "$client"
  rc=$?
fi
out=$(tr -d '\r' <"$d/shell.out")
if grep -qE '^trying to connect\.{3,}$' <<<"$out"; then
  t_ok "installer-shell: 'trying to connect' and a dot per failure while the port is closed"
else
  t_fail "installer-shell: trying to connect" "$(head -3 <<<"$out" | tr '\n' ' ')"
fi
if [ "$rc" = 0 ] && grep -q 'marker-42$' <<<"$out"; then
  t_ok "installer-shell: the command from the pipe ran in the installer's shell, exit 0"
else
  t_fail "installer-shell: the command ran" "exit $rc: $(tail -5 <<<"$out" | tr '\n' ' ')"
fi
t_expect "installer-shell: the terminal's banner" '^Press control-\\ to disconnect' echo "$out"
t_expect "installer-shell: the installer's log came first" 'Logs so far:' echo "$out"
t_expect "installer-shell: a PTY shell" 'Starting shell on: /dev/pts/[0-9]+\.\.\.' echo "$out"
t_expect "installer-shell: the installer logged the session" 'remote shell for admin from ' cat "$d/iso/out"

# Control-\ in a read of its own ends a session the server keeps open.
# shellcheck disable=SC2016 # the remote shell expands it
out=$( (printf 'echo second-$((6*7))\n'; sleep 2; printf '\034') | timeout 20 ip netns exec "$ns" "$hc" \
  -certDirectory="$d/admin" -CAfile="$d/CA.pem" installer-shell 127.0.0.1 2>&1)
rc=$?
if [ "$rc" = 0 ] && grep -q 'second-42$' <<<"$(tr -d '\r' <<<"$out")"; then
  t_ok "installer-shell: control-\\ ends the session, exit 0"
else
  t_fail "installer-shell: control-\\ ends the session" "exit $rc: $(tail -3 <<<"$out" | tr '\n' ' ')"
fi

# On a terminal (script(1) gives one): raw mode while connected, restored after.
if command -v script >/dev/null 2>&1; then
  # shellcheck disable=SC2016 # the remote shell expands it
  out=$( (sleep 1; printf 'echo tty-$((6*7))\r'; sleep 2; printf '\034') | timeout 20 ip netns exec "$ns" \
    script -qec "'$hc' -certDirectory='$d/admin' -CAfile='$d/CA.pem' installer-shell 127.0.0.1; echo hc-exit=\$?; stty -a" /dev/null 2>&1)
  out=$(tr -d '\r' <<<"$out")
  if grep -q 'tty-42$' <<<"$out" && grep -q '^hc-exit=0$' <<<"$out" &&
    grep -qE '(^| )icanon( |$)' <<<"$out" && grep -qE '(^| )echo( |$)' <<<"$out"; then
    t_ok "installer-shell on a terminal: raw input, control-\\ ends it, the mode restored"
  else
    t_fail "installer-shell on a terminal" "$(tail -6 <<<"$out" | tr '\n' ' ')"
  fi
else
  t_skip "installer-shell on a terminal" "script (util-linux) not installed"
fi

t_expect_fail --exit=1 "installer-shell: an installer certified by another CA is refused at once" \
  '^error connecting to installer shell: x509: certificate for host 127\.0\.0\.1 not trusted' \
  timeout 20 ip netns exec "$ns" "$hc" -certDirectory="$d/admin" -CAfile="$d/OtherCA.pem" installer-shell 127.0.0.1
mkcfg "$d/pxe/tftpdata"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/pxe/tftpdata/enrol-token"
installer pxe 6979 -configSource=network -tftpDirectory="$d/pxe/tftpdata"
for ((i = 0; i < 100; i++)); do grep -q 'serving on port' "$d/pxe/out" && break; sleep 0.1; done
t_expect_fail --exit=1 "installer-shell: a PXE installer's self-signed certificate is refused" \
  '^error connecting to installer shell: x509: certificate for host 127\.0\.0\.1 not trusted' \
  timeout 20 ip netns exec "$ns" "$hc" -certDirectory="$d/admin" -CAfile="$d/CA.pem" -installerPortNum=6979 \
  installer-shell 127.0.0.1
t_expect_fail --exit=1 "installer-shell: a name that does not resolve is not retried" \
  '^error connecting to installer shell: lookup no-such-host\.invalid: ' \
  timeout 20 ip netns exec "$ns" "$hc" -certDirectory="$d/admin" -CAfile="$d/CA.pem" installer-shell no-such-host.invalid

# ---- the hypervisor: connect-to-vm-manager, watch-dhcp ----
BR=${SS_ID}br
hv_setup "$BR" 10.107.0.1/24 || exit 0
hch() { # hch ARGS...: hyper-control as the admin, towards the daemon
  hv_ns timeout 60 "$hc" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -hypervisorHostname=127.0.0.1 "$@"
}
hv_daemon_start -virtType=qemu -stopTimeout=2s || {
  t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
  exit 0
}
hch add-subnet w 10.107.0.1 255.255.255.0 10.107.0.1 >/dev/null 2>&1
hch add-address 52:54:00:6b:00:0a 10.107.0.10 >/dev/null 2>&1
VM=$(vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=w -hostname=mon1 create-vm 2>&1 | tail -1)
if [ "$VM" = 10.107.0.10 ]; then t_ok "a running VM ($VM)"; else t_fail "a running VM" "$VM"; fi

out=$( (printf '{"execute":"query-status"}\r'; sleep 2; printf '\034') | hch connect-to-vm-manager "$VM" 2>&1)
rc=$?
if [ "$rc" = 0 ] && grep -q 'Press control-\\ to disconnect' <<<"$out" &&
  grep -q '{"execute":"query-status"}' <<<"$out" && [ "$(grep -c . <<<"$out")" -ge 3 ]; then
  t_ok "connect-to-vm-manager: the line echoed, an answer, control-\\ ends it"
else
  t_fail "connect-to-vm-manager" "exit $rc: $(tail -4 <<<"$out" | tr '\n' ' ')"
fi
t_expect_fail --exit=1 "connect-to-vm-manager: a VM that is not there" \
  '^error connecting to VM manager: no VM with IP address: 10\.107\.0\.99 found$' hch connect-to-vm-manager 10.107.0.99
t_expect_fail --exit=1 "watch-dhcp: an unknown interface" '^error watching DHCP: .*unknown interface: nosuchif0' \
  hch watch-dhcp nosuchif0

if command -v udhcpc >/dev/null 2>&1; then
  mkdir -p "$HV_DIR/tmp"
  TMPDIR=$HV_DIR/tmp ip netns exec "$HV_NS" "$hc" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
    -hypervisorHostname=127.0.0.1 watch-dhcp "$BR" >"$HV_DIR/watch.out" 2>&1 &
  watch=$!
  t_cleanup kill "$watch"
  sleep 1
  hv_dhcp_machine "$BR" 52:54:00:6b:00:33
  hv_lease -x hostname:wd1 >/dev/null 2>&1 # three DISCOVERs, no lease (the MAC is unknown)
  sleep 1
  kill "$watch"
  wait "$watch" 2>/dev/null
  wd=$(sed -n 's/^hyper-control: writing packets to //p' "$HV_DIR/watch.out")
  t_expect "watch-dhcp: the directory hyper-control.watch-dhcp.<host>.XXXXXX in TMPDIR" \
    "^$HV_DIR/tmp/hyper-control\\.watch-dhcp\\.127\\.0\\.0\\.1\\.[A-Za-z0-9]{6}\$" echo "$wd"
  files=$(for f in "$wd/$BR".[0-9]*; do [ -f "$f" ] && basename "$f"; done | sort)
  n=$(grep -c . <<<"$files")
  if [ "$n" -ge 2 ] && [ "$(head -1 <<<"$files")" = "$BR.00000" ] && [ "$(sed -n 2p <<<"$files")" = "$BR.00001" ]; then
    t_ok "watch-dhcp: one file per packet, the counter increments ($n files; #20)"
  else
    t_fail "watch-dhcp: one file per packet, the counter increments" "files: $(tr '\n' ' ' <<<"$files")"
  fi
  t_expect "watch-dhcp: the raw packet from the machine's MAC" '^01010600 5254006b0033$' \
    bash -c "od -An -tx1 -v '$wd/$BR.00001' | tr -d ' \n' | sed -E 's/^(.{8}).{48}(.{12}).*/\1 \2/'"
  t_expect "watch-dhcp: option 53 in its own file (DISCOVER)" '^ ?01$' od -An -tx1 "$wd/$BR.00001.options/53_DHCPMessageType"
  t_expect "watch-dhcp: option 12 (the client's host name) in its own file" '^wd1$' cat "$wd/$BR.00001.options/12_HostName"
  t_check "watch-dhcp: the parameter request list in its own file" test -s "$wd/$BR.00001.options/55_ParameterRequestList"
  t_expect "watch-dhcp: each packet logged with type and client MAC" \
    "$BR\\.00001: DHCPDISCOVER from 52:54:00:6b:00:33 on $BR" cat "$HV_DIR/watch.out"
  t_expect "watch-dhcp: each option logged" '  option 53 DHCPMessageType: 01$' cat "$HV_DIR/watch.out"
else
  t_skip "watch-dhcp with a DHCP client" "udhcpc (busybox) not installed"
fi
