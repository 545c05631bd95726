# timeout: 120
# shellcheck shell=bash
# vm-control's command line: -h, usage errors (exit 2), flags files under
# $HOME/.config/vm-control (default < flags.default < flags.extra < command line), and
# TLS towards a real SRPC server (srpc-testd): verified against -CAfile, refused when
# the server's certificate is signed by another CA. Calls against the real hypervisor
# are tested by the hypervisor's own integration tests.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"

vmc=$SS_BIN/vm-control
d=$(mktemp -d "/tmp/${SS_ID}-vmc.XXXXXX")
t_cleanup rm -rf "$d"
export HOME=$d/home
mkdir -p "$HOME/.config/vm-control" "$HOME/.ssl"

# --- help and usage ---
t_expect "-h lists commands" '^  create-vm +create a VM' "$vmc" -h
t_expect "-h lists flags with defaults" 'Port number of hypervisor \(default 6976\)' "$vmc" -h
t_check "-h exits 0" "$vmc" -h
out=$("$vmc" -h 2>/dev/null | grep -cE '^  (start-vm|stop-vm|destroy-vm|list-vms|get-vm-info|change-vm-tags|change-vm-owner-users|change-vm-size|change-vm-destroy-protection|get-vm-user-data|replace-vm-user-data|connect-to-vm-serial-port|list-subnets|get-capacity) ')
if [ "$out" -eq 14 ]; then
  t_ok "-h lists every required subcommand"
else
  t_fail "-h lists every required subcommand" "found $out of 14"
fi
t_expect_fail --exit=2 "no command: exit 2" 'no command given' "$vmc"
t_expect_fail --exit=2 "unknown command: exit 2" 'unknown command "frobnicate-vm"' "$vmc" frobnicate-vm
t_expect_fail --exit=2 "missing argument: exit 2" 'usage: vm-control \[flags...\] start-vm IPaddr' "$vmc" start-vm
t_expect_fail --exit=2 "extra argument: exit 2" 'usage: vm-control \[flags...\] list-vms$' "$vmc" list-vms 10.0.0.1
t_expect_fail --exit=2 "unknown flag: exit 2" 'flag provided but not defined: -bogus' "$vmc" -bogus list-vms
t_expect_fail --exit=2 "bad enum value: exit 2" 'invalid value "tty" for flag -consoleType: one of: none, dummy, vnc' \
  "$vmc" -consoleType=tty list-vms
t_expect_fail --exit=2 "bad tags: exit 2" 'malformed tag: "novalue"' "$vmc" -tags=a=b,novalue list-vms
t_expect_fail --exit=2 "bad size list: exit 2" 'bad number or size "lots"' "$vmc" -volumeSizes=1G,lots list-vms
t_expect_fail --exit=2 "tiny memory: exit 2" 'unreasonably small -memory' "$vmc" -memory=1000 create-vm
t_expect_fail --exit=2 "create-vm without hostname: exit 2" 'no hostname specified' "$vmc" -imageFile=/dev/null create-vm
t_expect_fail --exit=2 "create-vm without image: exit 2" 'no image specified' "$vmc" -hostname=x create-vm
t_expect_fail --exit=2 "create-vm -vCPUs below milliCPUs: exit 2" 'vCPUs must be at least 3' \
  "$vmc" -hostname=x -minFreeBytes=1G -milliCPUs=3500 -vCPUs=2 create-vm

# --- flags files: default < flags.default < flags.extra < command line ---
# Ports 1-3 are closed: the dial error names the port that was chosen.
cfg=$HOME/.config/vm-control
if ! srpc_ca "$d" CA || ! srpc_ca "$d" OtherCA; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" server CA srv san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" rogue OtherCA srv san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" narrow CA srv san=DNS:localhost
srpc_cert "$d" alice CA alice grants='*.*'
cp "$d/alice.cert" "$d/alice.key" "$HOME/.ssl/"
printf '# comment\n; another\n\nhypervisorPortNum = 1\nCAfile=%s\n' "$d/CA.pem" >"$cfg/flags.default"
t_expect_fail --exit=1 "flags.default is read" 'Error listing VMs: dial localhost:1: ' "$vmc" list-vms
printf 'hypervisorPortNum=2\n' >"$cfg/flags.extra"
t_expect_fail --exit=1 "flags.extra overrides flags.default" 'dial localhost:2: ' "$vmc" list-vms
t_expect_fail --exit=1 "command line overrides flags files" 'dial localhost:3: ' "$vmc" -hypervisorPortNum=3 list-vms
printf 'hypervisorPortNum\n' >"$cfg/flags.extra"
t_expect_fail --exit=2 "bad flags file line: exit 2 naming the file" 'flags.extra:1' "$vmc" list-vms
printf 'noSuchFlag=1\n' >"$cfg/flags.extra"
t_expect_fail --exit=2 "unknown flag in flags file: exit 2" 'flags.extra:1.*noSuchFlag' "$vmc" list-vms
rm -f "$cfg/flags.extra"

# --- TLS towards a real SRPC server ---
start_testd() { # CERTNAME PORTFILE -> testd_pid
  "$SS_BIN/srpc-testd" -certFile="$d/$1.cert" -keyFile="$d/$1.key" -CAfile="$d/CA.pem" \
    -portFile="$2" >"$2.log" 2>&1 &
  testd_pid=$!
  t_cleanup kill "$testd_pid"
  local i
  for i in $(seq 100); do [ -s "$2" ] && return 0; sleep 0.05; done
  return 1
}
if ! start_testd server "$d/port1" || ! start_testd rogue "$d/port2" ||
  ! start_testd narrow "$d/port3"; then
  t_fail "srpc-testd starts" "$(cat "$d"/port*.log)"
  exit 0
fi
good=$(cat "$d/port1") rogue=$(cat "$d/port2") narrow=$(cat "$d/port3")
# The certificate in ~/.ssl is found through the default -certDirectory; the server
# is verified and the call reaches it (it has no Hypervisor service: its answer is
# relayed as the error).
t_expect_fail --exit=1 "verified server, client cert from ~/.ssl" \
  '^Error getting VM info: unknown service: Hypervisor$' \
  "$vmc" -hypervisorPortNum="$good" get-vm-info 10.0.0.1
t_expect_fail --exit=1 "server signed by another CA is refused" \
  '^Error getting VM info: x509: certificate for host localhost not trusted' \
  "$vmc" -hypervisorPortNum="$rogue" get-vm-info 10.0.0.1
t_expect_fail --exit=1 "-insecure skips server verification" 'unknown service: Hypervisor' \
  "$vmc" -hypervisorPortNum="$rogue" -insecure get-vm-info 10.0.0.1
t_expect_fail --exit=1 "certificate for another name is refused" '^Error listing VMs: x509: .*127\.0\.0\.1' \
  "$vmc" -hypervisorHostname=127.0.0.1 -hypervisorPortNum="$narrow" list-vms
t_expect_fail --exit=1 "the same server by its certified name" 'unknown service: Hypervisor' \
  "$vmc" -hypervisorHostname=localhost -hypervisorPortNum="$narrow" list-vms
mv "$HOME/.ssl" "$HOME/.ssl-away"
mkdir "$HOME/.ssl"
t_expect_fail --exit=1 "no client certificate: exit 1" 'Error listing VMs: loading credentials: .*no certificate/key pairs' \
  "$vmc" -hypervisorPortNum="$good" list-vms
rmdir "$HOME/.ssl"
mv "$HOME/.ssl-away" "$HOME/.ssl"
t_expect_fail --exit=1 "a VM name that does not resolve" 'Error stopping VM: lookup no-such-vm.invalid' \
  "$vmc" -hypervisorPortNum="$good" stop-vm no-such-vm.invalid
