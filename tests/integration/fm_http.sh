#!/usr/bin/env bash
# timeout: 300
# The fleet manager's HTTP side on its port, in a private namespace with the fixture
# topology: the installers' /tftpdata pages (config.json, imagename,
# storage-layout.json, imageserver) with each identification rule (hostname=, ip=,
# serial_number= falling through, the caller's address, mac=), their 404s and 400s; the
# status page and the machine page (a hostile tag value is escaped), /metrics; and the
# command line: -h lists every flag (exit 0), usage errors exit 2, a bad configuration
# exits 1 with one message.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/fleet.sh"
. "$SS_TOP/tests/lib/prom.sh"
t_require openssl "certificates are made at test time"
t_require curl "the pages are read with curl"
t_require python3 "JSON answers are checked with python3"

fm_setup || exit 0
H0=row00-rack0-hyper0
FM=$FM_BIN/fleet-manager

# ---- the command line ----
help=$("$FM" -h 2>&1)
rc=$?
missing=""
for f in portNum topologyDir topologyRepository topologyBranch checkInterval gitTimeout stateDir \
	manageHypervisors clientCertDir hypervisorCAfile hypervisorPortNum ipmiUsername \
	ipmiPasswordFile ipmiCipherSuite ipmitool wakeOnLanPort imageServerHostname \
	imageServerPortNum desiredAddressPoolSize minimumAddressPoolSize maximumAddressPoolSize \
	CAfile identityCAfile certFile keyFile logDir alsoLogToStderr; do
	grep -qE "^  -$f( |$)" <<<"$help" || missing="$missing $f"
done
if [ "$rc" = 0 ] && [ -z "$missing" ] && grep -q '^Usage: fleet-manager' <<<"$help"; then
	t_ok "fleet-manager -h: exit 0, usage and every flag explained"
else
	t_fail "fleet-manager -h: exit 0, every flag" "exit $rc, missing:$missing"
fi
t_expect_fail --exit=2 "an unknown flag exits 2" 'flag provided but not defined: -nosuch' "$FM" -nosuch
t_expect_fail --exit=2 "a bad flag value exits 2" 'invalid value "soon" for flag -checkInterval' \
	"$FM" -checkInterval=soon
t_expect_fail --exit=2 "a positional argument exits 2" 'unexpected argument: extra' "$FM" -topologyDir=/x extra
t_expect_fail --exit=2 "a port out of range exits 2" 'wakeOnLanPort 0: not a port number' \
	"$FM" -topologyDir=/x -wakeOnLanPort=0
t_expect_fail --exit=2 "both topology flags exit 2" 'exclude each other' \
	"$FM" -topologyDir=/x -topologyRepository=/y
once() { # a start that must fail before it serves
	"$FM" -portNum=0 -logDir="$FM_DIR/log" -CAfile="$FM_DIR/certs/CA.pem" \
		-certFile="$FM_DIR/certs/server.cert" -keyFile="$FM_DIR/certs/server.key" "$@"
}
t_expect_fail --exit=1 "no topology: exit 1 with one message" \
	'^fleet-manager: no topology: give -topologyDir or -topologyRepository$' "$FM" -stateDir="$FM_DIR/s0"
touch "$FM_DIR/notadir"
t_expect_fail --exit=1 "an unusable state directory: exit 1 naming it" \
	"state directory $FM_DIR/notadir/state" once -stateDir="$FM_DIR/notadir/state" -topologyDir="$FM_DIR/topology"
t_expect_fail --exit=1 "a missing topology directory: exit 1 naming it" "$FM_DIR/nosuch" \
	once -stateDir="$FM_DIR/s1" -topologyDir="$FM_DIR/nosuch"
fm_topology "$FM_DIR/broken"
echo '[{"Hostname": "sjc-hyper0", "HostIpAddress": "10.40.0.99"}]' >"$FM_DIR/broken/LAB/machines.json"
t_expect_fail --exit=1 "a topology that does not load: exit 1 with file and line" \
	'topology .*broken: .*machines.json(:[0-9]+)?: .*(duplicate|sjc-hyper0)' \
	once -stateDir="$FM_DIR/s2" -topologyDir="$FM_DIR/broken"

# ---- /tftpdata ----
if ! fm_start -manageHypervisors; then
	t_fail "fleet-manager starts"
	exit 0
fi
json_has() { # JSON-TEXT PYTHON-EXPR over d
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert eval(sys.argv[2]), d; print("ok")' "$1" "$2"
}
t_expect "config.json?hostname=: the machine's GetMachineInfoResponse" '^ok$' \
	json_has "$(fm_curl "tftpdata/config.json?hostname=$H0")" \
	'd["Location"]=="NYC/rack0" and d["Machine"]["Hostname"]=="'$H0'" and d["Machine"]["IPMI"]["HostIpAddress"]=="10.99.0.5" and [s["Id"] for s in d["Subnets"]]==["Production","Infrastructure","Egress"]'
t_expect "config.json?ip=: the machine of that address" '^ok$' \
	json_has "$(fm_curl "tftpdata/config.json?ip=10.1.0.7")" 'd["Machine"]["Hostname"]=="10.1.0.7"'
t_expect "config.json with no query: the machine of the caller's address (127.0.0.1)" '^ok$' \
	json_has "$(fm_curl "tftpdata/config.json")" 'd["Machine"]["Hostname"]=="lab-hyper0"'
t_expect "config.json?serial_number= unknown: falls through to the caller's address" '^ok$' \
	json_has "$(fm_curl "tftpdata/config.json?serial_number=XYZ123")" 'd["Machine"]["Hostname"]=="lab-hyper0"'
t_expect "config.json?mac= (one-digit groups, upper case) from an unknown address" '^ok$' \
	json_has "$(fm_curl "tftpdata/config.json?mac=00:11:22:33:44:55&mac=DE:AD:BE:EF:0:3" --interface 127.0.0.2)" \
	'd["Machine"]["Hostname"]=="row00-rack0-hyper1"'
t_expect "config.json: a secondary entry's MAC identifies its machine" '^ok$' \
	json_has "$(fm_curl "tftpdata/config.json?mac=de:ad:be:ef:00:02" --interface 127.0.0.2)" \
	'd["Machine"]["Hostname"]=="'$H0'"'
code() { fm_curl "$1" -o /dev/null -w '%{http_code}\n' "${@:2}"; }
t_expect "config.json?hostname= unknown: 404 (never another machine)" '^404$' code "tftpdata/config.json?hostname=nosuch"
t_expect "config.json?ip= unknown: 404" '^404$' code "tftpdata/config.json?ip=10.9.9.9"
t_expect "config.json from an unknown address with an unknown MAC: 404" '^404$' \
	code "tftpdata/config.json?mac=00:11:22:33:44:55" --interface 127.0.0.2
t_expect "config.json from an unknown address with no query: 404" '^404$' \
	code "tftpdata/config.json" --interface 127.0.0.2
t_expect "config.json?ip=300.1.1.1: 400 with the reason" 'ip= is not an IPv4 address' \
	fm_curl "tftpdata/config.json?ip=300.1.1.1"
t_expect "config.json?mac=zz: 400 with the reason" 'mac= is not a MAC address' \
	fm_curl "tftpdata/config.json?mac=zz" --interface 127.0.0.2
t_expect "config.json?hostname= empty: 400" '^400$' code "tftpdata/config.json?hostname="
t_expect "imagename: the inherited RequiredImage and a newline" '^hypervisor/nyc-2024-02-01:00:00:00$' \
	fm_curl "tftpdata/imagename?hostname=$H0"
fm_rpc admin FleetManager.ChangeMachineTags "{\"Hostname\":\"$H0\",\"Tags\":{\"RequiredImage\":\"hypervisor/local\"}}" >/dev/null
t_expect "imagename: a local override wins" '^hypervisor/local$' fm_curl "tftpdata/imagename?hostname=$H0"
t_expect "imagename ends with one newline" '^ok$' bash -c "ip netns exec $FM_NS curl -sS \
	http://127.0.0.1:$FM_PORT/tftpdata/imagename?hostname=$H0 | python3 -c 'import sys; b=sys.stdin.buffer.read(); print(\"ok\" if b==b\"hypervisor/local\\n\" else repr(b))'"
fm_rpc admin FleetManager.ChangeMachineTags '{"Hostname":"lab-hyper0","Tags":{"RequiredImage":""}}' >/dev/null
t_expect "imagename with an empty RequiredImage: 404" '^404$' code "tftpdata/imagename"
t_expect "storage-layout.json: the nearest install-config.json's StorageLayout" '^ok$' \
	json_has "$(fm_curl "tftpdata/storage-layout.json?hostname=10.1.0.7")" \
	'd["ExtraMountPointsBasename"]=="/data/" and len(d["BootDriveLayout"])==2'
t_expect "storage-layout.json without an install-config.json: 404" '^404$' \
	code "tftpdata/storage-layout.json?hostname=sjc-hyper0"
t_expect "imageserver not configured: 404" '^404$' code "tftpdata/imageserver"
t_expect "an unknown /tftpdata/ page: 404" '^404$' code "tftpdata/other"

# ---- status pages and /metrics ----
fm_rpc admin FleetManager.ChangeMachineTags \
	"{\"Hostname\":\"$H0\",\"Tags\":{\"RequiredImage\":\"hypervisor/local\",\"PlannedImage\":\"<script>alert('x')</script>&\\\"\"}}" >/dev/null
page=$(fm_curl "")
if grep -q '&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;' <<<"$page" && ! grep -q '<script>' <<<"$page"; then
	t_ok "status page: a hostile tag value is escaped"
else
	t_fail "status page: a hostile tag value is escaped" "$(grep -o '.\{20\}script.\{40\}' <<<"$page" | head -2)"
fi
if grep -q 'NYC/rack0' <<<"$page" && grep -q 'SJC' <<<"$page" && grep -q "$H0" <<<"$page" &&
	grep -q 'unreachable' <<<"$page" && grep -q 'hypervisor/local' <<<"$page"; then
	t_ok "status page: locations, hypervisors with state and image tags"
else
	t_fail "status page: locations and hypervisors" "$(head -c 300 <<<"$page")"
fi
mpage=$(fm_curl "machine?hostname=$H0")
if grep -q '&lt;script&gt;' <<<"$mpage" && ! grep -q '<script>' <<<"$mpage" && grep -q 'NYC/rack0' <<<"$mpage"; then
	t_ok "machine page: the machine, hostile tag escaped"
else
	t_fail "machine page: the machine, hostile tag escaped" "$(grep -o '.\{20\}script.\{40\}' <<<"$mpage" | head -2)"
fi
t_expect "machine page of an unknown machine: 404" '^404$' code "machine?hostname=%3Cscript%3E"
t_expect "machine page without hostname: 400" '^400$' code "machine"
fm_curl metrics >"$FM_DIR/metrics.txt"
t_check "/metrics is Prometheus text" prom_check "$FM_DIR/metrics.txt"
t_expect "/metrics: machines, hypervisors by state, tftpdata counters" \
	'^ok$' bash -c "grep -q '^fleet_manager_machines 5$' '$FM_DIR/metrics.txt' &&
		grep -q '^fleet_manager_hypervisors{state=\"unreachable\"} 5$' '$FM_DIR/metrics.txt' &&
		grep -qE '^fleet_manager_tftpdata_requests_total [1-9]' '$FM_DIR/metrics.txt' &&
		grep -qE '^fleet_manager_tftpdata_bad_requests_total [1-9]' '$FM_DIR/metrics.txt' &&
		grep -q '^fleet_manager_topology_error 0$' '$FM_DIR/metrics.txt' && echo ok"
t_expect "/logs is refused off loopback? (loopback here: served)" '^200$' code logs

# ---- /tftpdata/imageserver with the flags (weakness 50) ----
fm_stop
if fm_start -manageHypervisors -imageServerHostname=images.example.com -imageServerPortNum=6971; then
	t_expect "imageserver: host:port and a newline from the flags" '^images.example.com:6971$' \
		fm_curl "tftpdata/imageserver"
else
	t_fail "restart with -imageServerHostname"
fi
fm_stop
if grep -qE 'ERROR: [A-Za-z]*Sanitizer|runtime error' "$FM_DIR/daemon.out"; then
	t_fail "no sanitizer report in the daemon's output" "$(grep -m3 -E 'Sanitizer|runtime error' "$FM_DIR/daemon.out")"
else
	t_ok "no sanitizer report in the daemon's output"
fi
