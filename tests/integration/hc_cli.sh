#!/usr/bin/env bash
# timeout: 120
# hyper-control's command line (docs/hyper-control.md): -h lists every flag and
# command; exit status 0/1/2; the flags files (/etc/config/hyper-control, here
# $HYPER_CONTROL_SYSCONFDIR, then ~/.config/hyper-control, each flags.default then
# flags.extra, then the command line), a bad /etc file only warned about, a bad ~ file
# fatal; a missing required option named; TLS towards real SRPC servers (srpc-testd):
# verified against -CAfile (default <certDirectory>/CA.pem), a server certified by
# another CA refused.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"

hc=$SS_BIN/hyper-control
d=$(mktemp -d "/tmp/${SS_ID}-hc.XXXXXX")
t_cleanup rm -rf "$d"
export HOME=$d/home HYPER_CONTROL_SYSCONFDIR=$d/etc
mkdir -p "$HOME/.config/hyper-control" "$HOME/.ssl" "$HYPER_CONTROL_SYSCONFDIR"
etc=$HYPER_CONTROL_SYSCONFDIR user=$HOME/.config/hyper-control

# --- -h: every flag of spec §1.1 and the trust flags, every command ---
t_check "-h exits 0" "$hc" -h
help=$("$hc" -h 2>&1)
missing=
for f in hypervisorHostname hypervisorPortNum fleetManagerHostname fleetManagerPortNum \
  imageServerHostname imageServerPortNum installerImageStream installerPortNum location \
  topologyDir connectTimeout lockTimeout writeLock maxConcurrent forceImageChange \
  preUpdateCommand postUpdateCommand maxUpdates ignoreMissingLocalTags hypervisorTags \
  externalLeaseAddresses externalLeaseHostnames netbootFiles netbootTimeout \
  netbootFilesTimeout offerTimeout numAcknowledgementsToWaitFor randomSeedBytes \
  storageLayoutFilename encrypt useKexec targetImageName memory volumeSizes subnetIDs \
  vncViewer networkInterfacesFile emailBodyFilename emailDomain emailSubject smtpServer \
  certDirectory CAfile identityCAfile signerCertFile signerKeyFile certLifetime yes dryRun \
  kexecCommand logDebugLevel logDatestamps logSubseconds; do
  grep -qE "^  -$f( |$)" <<<"$help" || missing="$missing $f"
done
if [ -z "$missing" ]; then t_ok "-h lists every flag"; else t_fail "-h lists every flag" "missing:$missing"; fi
t_expect "-h: defaults of spec §1.1" 'Port number of the hypervisor \(default 6976\)' echo "$help"
t_expect "-h: imageServerHostname defaults to localhost" 'Hostname of the image server \(default "localhost"\)' echo "$help"
t_expect "-h: -netbootFilesTimeout 1m1s" 'served when netbooting \(default 1m1s\)' echo "$help"
t_expect "-h: -emailSubject" '\(default "Hypervisor %s maintenance"\)' echo "$help"
t_expect "-h: -CAfile defaults to <certDirectory>/CA.pem" 'default <certDirectory>/CA\.pem' echo "$help"
missing=
for c in add-address add-subnet disable-hypervisor enable-hypervisor get-capacity \
  get-identity-provider get-public-key hold-lock hold-vm-lock list-volume-directories \
  register-external-leases remove-excess-addresses remove-ip-address remove-mac-address \
  send-email-to-hypervisor-vm-owners connect-to-vm-manager installer-shell watch-dhcp; do
  grep -qE "^  $c( |\$)" <<<"$help" || missing="$missing $c"
done
if [ -z "$missing" ]; then t_ok "-h lists every command with its help"; else t_fail "-h lists every command" "missing:$missing"; fi
t_expect "-h: a command's arguments and help line" '^  add-address MAC \[IP\] +add an address' echo "$help"

# --- exit 2: usage ---
t_expect_fail --exit=2 "no command: exit 2, usage on stderr" 'no command given' "$hc"
t_expect_fail --exit=2 "unknown command: exit 2" 'unknown command "frobnicate"' "$hc" frobnicate
t_expect_fail --exit=2 "missing argument: exit 2" 'usage: hyper-control \[flags...\] remove-ip-address IP$' "$hc" remove-ip-address
t_expect_fail --exit=2 "extra argument: exit 2" 'usage: hyper-control \[flags...\] get-capacity$' "$hc" get-capacity x
t_expect_fail --exit=2 "unknown flag: exit 2" 'flag provided but not defined: -bogus' "$hc" -bogus get-capacity
t_expect_fail --exit=2 "bad duration: exit 2" 'invalid value "soon" for flag -lockTimeout' "$hc" -lockTimeout=soon hold-lock
t_expect_fail --exit=2 "malformed tag: exit 2" 'malformed tag: "novalue"' "$hc" -hypervisorTags=a=b,novalue get-capacity
t_expect_fail --exit=2 "tags from a missing file: exit 2" 'invalid value "@/nonexistent/tags\.json" for flag -hypervisorTags' \
  "$hc" -hypervisorTags=@/nonexistent/tags.json get-capacity
printf '{"a": 1}\n' >"$d/badtags.json"
t_expect_fail --exit=2 "tags file with a non-string value: exit 2" 'for flag -hypervisorTags' \
  "$hc" -hypervisorTags=@"$d/badtags.json" get-capacity
printf '{"Owner": "ops", "RequiredImage": "x/y"}\n' >"$d/tags.json"
t_expect_fail --exit=1 "tags k=v plus @file.json are accepted" 'hypervisorHostname unspecified' \
  "$hc" -hypervisorTags=a=b -hypervisorTags=@"$d/tags.json" get-capacity
t_expect_fail --exit=2 "-netbootFiles needs tftpName=localPath" 'invalid value "x" for flag -netbootFiles' \
  "$hc" -netbootFiles=x get-capacity

# --- exit 1: a required option, named ---
t_expect_fail --exit=1 "no -hypervisorHostname: exit 1, named" '^error getting capacity: hypervisorHostname unspecified$' \
  "$hc" get-capacity
t_expect_fail --exit=1 "log flags are accepted" '^error getting capacity: hypervisorHostname unspecified$' \
  "$hc" -logDebugLevel=1 -logDatestamps -logSubseconds get-capacity
t_expect_fail --exit=1 "no -smtpServer: named" '^error sending e-mail: smtpServer unspecified$' \
  "$hc" -hypervisorHostname=localhost send-email-to-hypervisor-vm-owners

# --- credentials ---
if ! srpc_ca "$d" CA || ! srpc_ca "$d" OtherCA; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" server CA srv san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" rogue OtherCA srv san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" alice CA alice grants='*.*'
t_expect_fail --exit=1 "no client certificate: exit 1" '^error getting capacity: loading credentials: .*no certificate/key pairs' \
  "$hc" -hypervisorHostname=localhost get-capacity
cp "$d/alice.cert" "$d/alice.key" "$HOME/.ssl/"
t_expect_fail --exit=1 "no CA file: exit 1, naming it" "^error getting capacity: loading credentials: .*$HOME/\\.ssl/CA\\.pem" \
  "$hc" -hypervisorHostname=localhost get-capacity
cp "$d/CA.pem" "$HOME/.ssl/CA.pem"

# --- flags files: /etc default < /etc extra < ~ default < ~ extra < command line ---
# Ports 1-5 are closed: the dial error names the port chosen.
# shellcheck disable=SC2120 # callers through t_expect_fail pass flags
run() { "$hc" -hypervisorHostname=localhost "$@" get-capacity; }
printf '# comment\n; another\n\nhypervisorPortNum = 1\n' >"$etc/flags.default"
t_expect_fail --exit=1 "/etc flags.default is read" '^error getting capacity: dial localhost:1: ' run
printf 'hypervisorPortNum=2\n' >"$etc/flags.extra"
t_expect_fail --exit=1 "/etc flags.extra overrides /etc flags.default" 'dial localhost:2: ' run
printf 'hypervisorPortNum=3\n' >"$user/flags.default"
t_expect_fail --exit=1 "~ flags.default overrides /etc" 'dial localhost:3: ' run
printf 'hypervisorPortNum=4\n' >"$user/flags.extra"
t_expect_fail --exit=1 "~ flags.extra overrides ~ flags.default" 'dial localhost:4: ' run
t_expect_fail --exit=1 "the command line overrides every file" 'dial localhost:5: ' run -hypervisorPortNum=5
rm "$user/flags.default" "$user/flags.extra"
printf 'noSuchFlag=1\nhypervisorPortNum=9\n' >"$etc/flags.extra"
out=$(run -connectTimeout=15s 2>&1)
rc=$?
if [ "$rc" = 1 ] && grep -q "^hyper-control: warning: .*etc/flags.extra:1" <<<"$out" &&
  grep -q 'dial localhost:1: ' <<<"$out"; then
  t_ok "a bad /etc file: a warning naming file and line, the command runs (its bad line and rest skipped)"
else
  t_fail "a bad /etc file only warns" "exit $rc: $out"
fi
printf 'hypervisorPortNum\n' >"$etc/flags.default"
t_expect_fail --exit=1 "a malformed /etc line: a warning" 'warning: .*etc/flags.default:1' run
rm "$etc/flags.default" "$etc/flags.extra"
printf 'noSuchFlag=1\n' >"$user/flags.extra"
t_expect_fail --exit=2 "a bad ~ file: fatal, exit 2, naming file and line" 'flags.extra:1.*noSuchFlag' run
printf 'lockTimeout=soon\n' >"$user/flags.default"
t_expect_fail --exit=2 "a bad value in a ~ file: fatal" 'flags.default:1' run
rm -f "$user/flags.default" "$user/flags.extra"
printf 'CAfile=%s\n' "$d/OtherCA.pem" >"$etc/flags.default"

# --- TLS towards real SRPC servers ---
start_testd() { # CERTNAME PORTFILE
  "$SS_BIN/srpc-testd" -certFile="$d/$1.cert" -keyFile="$d/$1.key" -CAfile="$d/CA.pem" \
    -portFile="$2" >"$2.log" 2>&1 &
  t_cleanup kill "$!"
  local i
  for i in $(seq 100); do [ -s "$2" ] && return 0; sleep 0.05; done
  return 1
}
if ! start_testd server "$d/port1" || ! start_testd rogue "$d/port2"; then
  t_fail "srpc-testd starts" "$(cat "$d"/port*.log)"
  exit 0
fi
good=$(cat "$d/port1") rogue=$(cat "$d/port2")
t_expect_fail --exit=1 "-CAfile from /etc flags: the good server is not trusted by OtherCA" \
  '^error getting capacity: x509: certificate for host localhost not trusted' \
  "$hc" -hypervisorHostname=localhost -hypervisorPortNum="$good" get-capacity
rm "$etc/flags.default"
t_expect_fail --exit=1 "verified server (default -CAfile), client cert from ~/.ssl: the call reaches it" \
  '^error getting capacity: unknown service: Hypervisor$' \
  "$hc" -hypervisorHostname=localhost -hypervisorPortNum="$good" get-capacity
t_expect_fail --exit=1 "a server certified by another CA is refused" \
  '^error getting capacity: x509: certificate for host localhost not trusted' \
  "$hc" -hypervisorHostname=localhost -hypervisorPortNum="$rogue" get-capacity
t_expect_fail --exit=1 "... also for a streaming command" \
  '^error watching DHCP: x509: certificate for host 127\.0\.0\.1 not trusted' \
  "$hc" -hypervisorHostname=127.0.0.1 -hypervisorPortNum="$rogue" watch-dhcp
t_expect_fail --exit=2 "there is no -insecure" 'flag provided but not defined: -insecure' \
  "$hc" -insecure -hypervisorHostname=localhost -hypervisorPortNum="$rogue" get-capacity
t_expect_fail --exit=1 "a VM name that does not resolve" '^error holding VM lock: lookup no-such-vm\.invalid' \
  "$hc" -hypervisorHostname=localhost -hypervisorPortNum="$good" hold-vm-lock no-such-vm.invalid
