#!/usr/bin/env bash
# timeout: 300
# The fleet manager's FleetManager methods through a real client (srpc-testc; GetUpdates
# through tests/lib/srpc_raw.py) over mutual TLS, against the fixture topology in a
# private namespace where no hypervisor answers: every method and its refusals
# (unknown machine, neither owner nor admin, a certificate of an unknown CA, a read-only
# fleet manager, malformed requests), ChangeMachineTags kept in local-tags.json across a
# restart and seen by GetMachineInfo and GetUpdates watchers, GetUpdates' first message
# (the location's full state), MaxUpdates, ListHypervisorsInLocation's filters.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/fleet.sh"
t_require openssl "certificates are made at test time"
t_require python3 "GetUpdates is read with tests/lib/srpc_raw.py"
t_require curl "the daemon's readiness is read from /healthz"

fm_setup || exit 0
if ! fm_start -manageHypervisors; then
	t_fail "fleet-manager starts with the fixture topology"
	exit 0
fi
t_ok "fleet-manager starts with the fixture topology"
H0=row00-rack0-hyper0

# ---- GetMachineInfo ----
t_expect "GetMachineInfo: location, inherited and own tags, owners, visible subnets" \
	'"Location":"NYC/rack0".*"OwnerUsers":\["alice","bob"\].*"RequiredImage":"hypervisor/nyc-2024-02-01:00:00:00".*"Type":"big".*"Subnets":\[.*"Id":"Production".*"Id":"Egress"' \
	fm_rpc user FleetManager.GetMachineInfo "{\"Hostname\":\"$H0\"}"
t_expect "GetMachineInfo: a machine known by its IP only" '"Hostname":"10.1.0.7"' \
	fm_rpc user FleetManager.GetMachineInfo '{"Hostname":"10.1.0.7"}'
t_expect "GetMachineInfo of an unknown machine: Hypervisor not found" '"Error":"Hypervisor not found"' \
	fm_rpc user FleetManager.GetMachineInfo '{"Hostname":"nosuch"}'
t_expect_fail "GetMachineInfo with a malformed request is refused" 'Hostname.*expected string' \
	fm_rpc user FleetManager.GetMachineInfo '{"Hostname":5}'
t_expect_fail "a certificate of an unknown CA is refused" 'certificate|handshake|denied|401' \
	fm_rpc stranger FleetManager.GetMachineInfo "{\"Hostname\":\"$H0\"}"

# ---- ChangeMachineTags ----
t_expect "ChangeMachineTags by neither owner nor admin: no access to resource" \
	'"Error":"no access to resource"' \
	fm_rpc user FleetManager.ChangeMachineTags "{\"Hostname\":\"$H0\",\"Tags\":{\"PlannedImage\":\"x\"}}"
t_expect "ChangeMachineTags by an owner group of another machine: no access" \
	'"Error":"no access to resource"' \
	fm_rpc sjc FleetManager.ChangeMachineTags "{\"Hostname\":\"$H0\",\"Tags\":{\"PlannedImage\":\"x\"}}"
t_expect "ChangeMachineTags of an unknown machine: Hypervisor not found" '"Error":"Hypervisor not found"' \
	fm_rpc admin FleetManager.ChangeMachineTags '{"Hostname":"nosuch","Tags":{"A":"b"}}'
t_expect_fail "ChangeMachineTags with a malformed request is refused" 'Tags.*expected' \
	fm_rpc admin FleetManager.ChangeMachineTags "{\"Hostname\":\"$H0\",\"Tags\":[1]}"

# A watcher of NYC follows the change of bob's machine.
fm_watch user '{"Location":"NYC"}' 'PlannedImage.{0,3}hypervisor/next' 20 >"$FM_DIR/watch1.out" 2>&1 &
wpid=$!
fm_wait_first "$FM_DIR/watch1.out"
t_expect "ChangeMachineTags by an owner user (bob) succeeds" '^\{"Error":""\}' \
	fm_rpc bob FleetManager.ChangeMachineTags "{\"Hostname\":\"$H0\",\"Tags\":{\"PlannedImage\":\"hypervisor/next\",\"Type\":\"big\"}}"
wait "$wpid"
first=$(head -1 "$FM_DIR/watch1.out")
if grep -q '"ChangedMachines"' <<<"$first" && grep -q "\"$H0\"" <<<"$first" &&
	grep -q '"10.1.0.7"' <<<"$first" && ! grep -q 'sjc-hyper0\|lab-hyper0' <<<"$first"; then
	t_ok "GetUpdates: the first message is the full state of the location (NYC only)"
else
	t_fail "GetUpdates: the first message is the full state of the location" "$(head -c 400 <<<"$first")"
fi
if tail -n +2 "$FM_DIR/watch1.out" | grep -q "\"Hostname\":\"$H0\".*\"PlannedImage\":\"hypervisor/next\""; then
	t_ok "GetUpdates: a watcher receives the ChangeMachineTags change"
else
	t_fail "GetUpdates: a watcher receives the ChangeMachineTags change" "$(tail -c 300 "$FM_DIR/watch1.out")"
fi
t_expect "local tags: the override is stored, a value equal to the topology's is dropped" \
	'^ok$' python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={sys.argv[2]:{"PlannedImage":"hypervisor/next"}}, d; print("ok")' \
	"$FM_DIR/state/local-tags.json" "$H0"
t_expect "ChangeMachineTags by an owner group (fleet-ops) succeeds" '^\{"Error":""\}' \
	fm_rpc ops FleetManager.ChangeMachineTags '{"Hostname":"sjc-hyper0","Tags":{"RequiredImage":"hypervisor/sjc-new"}}'
t_expect "ChangeMachineTags by an admin succeeds" '^\{"Error":""\}' \
	fm_rpc admin FleetManager.ChangeMachineTags '{"Hostname":"10.1.0.7","Tags":{"Rack":"one"}}'

# A watcher of SJC gets only SJC, and not NYC's changes.
fm_watch user '{"Location":"SJC"}' 'NEVERMATCHES' 3 >"$FM_DIR/watch2.out" 2>&1 &
wpid=$!
fm_wait_first "$FM_DIR/watch2.out"
fm_rpc admin FleetManager.ChangeMachineTags "{\"Hostname\":\"$H0\",\"Tags\":{\"PlannedImage\":\"hypervisor/other\"}}" >/dev/null
wait "$wpid"
if head -1 "$FM_DIR/watch2.out" | grep -q '"sjc-hyper0".*"RequiredImage":"hypervisor/sjc-new"' &&
	! grep -q "$H0" "$FM_DIR/watch2.out"; then
	t_ok "GetUpdates of SJC: SJC's machine with its local tag, nothing of NYC"
else
	t_fail "GetUpdates of SJC: SJC only" "$(head -c 400 "$FM_DIR/watch2.out")"
fi

# MaxUpdates 2: the first message and one change, nothing after.
fm_watch user '{"Location":"","MaxUpdates":2}' 'NEVERMATCHES' 5 >"$FM_DIR/watch3.out" 2>&1 &
wpid=$!
fm_wait_first "$FM_DIR/watch3.out"
fm_rpc admin FleetManager.ChangeMachineTags '{"Hostname":"lab-hyper0","Tags":{"Step":"1"}}' >/dev/null
sleep 1
fm_rpc admin FleetManager.ChangeMachineTags '{"Hostname":"lab-hyper0","Tags":{"Step":"2"}}' >/dev/null
wait "$wpid"
n=$(grep -c '^{' "$FM_DIR/watch3.out")
if [ "$n" = 2 ] && grep -q '"Step":"1"' "$FM_DIR/watch3.out" && ! grep -q '"Step":"2"' "$FM_DIR/watch3.out"; then
	t_ok "GetUpdates: MaxUpdates 2 sends the full state and one change"
else
	t_fail "GetUpdates: MaxUpdates" "$n messages: $(tail -c 300 "$FM_DIR/watch3.out")"
fi

# ---- a slow watcher (weakness 32): coalesced, never dropped ----
# The watcher reads its first message and then nothing while 300 changes of 40 KB each
# (12 MB, more than the socket buffers hold) are made; then it reads on.
cat >"$FM_DIR/slow.py" <<'PY'
import argparse, json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["SS_TOP"], "tests/lib"))
import srpc_raw
a = argparse.Namespace(addr=sys.argv[1], ca=sys.argv[2], cert=sys.argv[3], key=sys.argv[4], timeout=60)
tls, rd = srpc_raw.dial(a)
srpc_raw.start(tls, rd, "FleetManager.GetUpdates")
srpc_raw.send_json(tls, {"Location": "LAB"})
rd.readline()
open(sys.argv[5], "w").close()
end = time.time() + 300
while not os.path.exists(sys.argv[6]) and time.time() < end:
    time.sleep(0.1)
n, last, end = 0, "", time.time() + 30
while time.time() < end:
    line = rd.readline()
    if not line:
        print("closed after %d messages" % n)
        sys.exit(1)
    n += 1
    for m in json.loads(line).get("ChangedMachines", []):
        last = m.get("Tags", {}).get("Step", "")[:8]
    if last.startswith("v299-"):
        break
print("messages=%d last=%s" % (n, last))
PY
rm -f "$FM_DIR/slow.ready" "$FM_DIR/slow.go"
fm_ns python3 "$FM_DIR/slow.py" "127.0.0.1:$FM_PORT" "$FM_DIR/certs/CA.pem" "$FM_DIR/certs/user.cert" \
	"$FM_DIR/certs/user.key" "$FM_DIR/slow.ready" "$FM_DIR/slow.go" >"$FM_DIR/slow.out" 2>&1 &
wpid=$!
for ((i = 0; i < 100; i++)); do [ -e "$FM_DIR/slow.ready" ] && break; sleep 0.1; done
python3 -c 'import json
pad = "x" * 40000
for i in range(300):
    print("FleetManager.ChangeMachineTags " + json.dumps({"Hostname": "lab-hyper0", "Tags": {"Step": "v%d-%s" % (i, pad)}}))' >"$FM_DIR/changes.txt"
fm_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$FM_PORT" -serverName=localhost -certFile="$FM_DIR/certs/admin.cert" \
	-keyFile="$FM_DIR/certs/admin.key" -CAfile="$FM_DIR/certs/CA.pem" -timeout=60s script <"$FM_DIR/changes.txt" >"$FM_DIR/changes.out" 2>&1
t_expect "300 large tag changes are accepted" 'CALLS FleetManager.ChangeMachineTags 300 0' cat "$FM_DIR/changes.out"
t_expect "/metrics: the slow watcher is still connected" '^fleet_manager_update_watchers 1$' \
	bash -c "ip netns exec $FM_NS curl -sS http://127.0.0.1:$FM_PORT/metrics | grep '^fleet_manager_update_watchers'"
touch "$FM_DIR/slow.go"
wait "$wpid"
slow=$(cat "$FM_DIR/slow.out")
n=$(sed -n 's/^messages=\([0-9]*\) last=v299-.*/\1/p' <<<"$slow")
if [ -n "$n" ] && [ "$n" -lt 300 ]; then
	t_ok "a slow watcher is not dropped and gets the latest state coalesced ($n messages for 300 changes)"
else
	t_fail "a slow watcher is not dropped and gets the latest state coalesced" "$slow"
fi

# ---- the local tags survive a restart ----
fm_stop
if fm_start -manageHypervisors; then
	t_expect "after a restart GetMachineInfo still has the local tag" \
		'"PlannedImage":"hypervisor/other"' \
		fm_rpc user FleetManager.GetMachineInfo "{\"Hostname\":\"$H0\"}"
	t_expect "after a restart the first GetUpdates message has the local tags" \
		'"RequiredImage":"hypervisor/sjc-new"' fm_watch user '{"Location":"SJC"}' 'RequiredImage' 5
else
	t_fail "restart with -manageHypervisors"
fi
t_expect "ChangeMachineTags with no tags removes the overrides" '^\{"Error":""\}' \
	fm_rpc admin FleetManager.ChangeMachineTags '{"Hostname":"lab-hyper0","Tags":{}}'
if ! grep -q lab-hyper0 "$FM_DIR/state/local-tags.json"; then
	t_ok "local-tags.json no longer lists a machine without overrides"
else
	t_fail "local-tags.json no longer lists a machine without overrides" "$(cat "$FM_DIR/state/local-tags.json")"
fi

# ---- ListHypervisorsInLocation (no hypervisor answers here: none is connected) ----
t_expect "ListHypervisorsInLocation: unreachable hypervisors are not listed" \
	'"Error":"","HypervisorAddresses":(null|\[\])' \
	fm_rpc user FleetManager.ListHypervisorsInLocation '{"Location":"NYC"}'
t_expect "ListHypervisorsInLocation: IncludeUnhealthy lists connected ones only" \
	'"HypervisorAddresses":(null|\[\])' \
	fm_rpc user FleetManager.ListHypervisorsInLocation '{"Location":"","IncludeUnhealthy":true,"ArchitectureType":"","SubnetId":"Production","HypervisorTagsToMatch":{"Site":["NYC"]},"TagsToInclude":["RequiredImage"]}'
t_expect_fail "ListHypervisorsInLocation with an unknown architecture is refused" 'ArchitectureType' \
	fm_rpc user FleetManager.ListHypervisorsInLocation '{"Location":"","ArchitectureType":"sparc"}'
t_expect "a hypervisor unreachable for the status page too" 'row00-rack0-hyper0.*unreachable' \
	bash -c "ip netns exec $FM_NS curl -sS http://127.0.0.1:$FM_PORT/ | tr -d '\n'"

# ---- MoveIpAddresses, PowerOnMachine, GetHypervisorForVM ----
t_expect_fail "MoveIpAddresses by a non-admin is refused" 'denied' \
	fm_rpc bob FleetManager.MoveIpAddresses "{\"HypervisorHostname\":\"$H0\",\"IpAddresses\":[\"10.0.0.120\"]}"
t_expect "MoveIpAddresses without addresses: an error" '"Error":"no IP addresses given"' \
	fm_rpc admin FleetManager.MoveIpAddresses "{\"HypervisorHostname\":\"$H0\",\"IpAddresses\":[]}"
t_expect "MoveIpAddresses to an unknown hypervisor: an error" '"Error":"[^"]+' \
	fm_rpc admin FleetManager.MoveIpAddresses '{"HypervisorHostname":"nosuch","IpAddresses":["10.0.0.120"]}'
t_expect_fail "MoveIpAddresses with a malformed address is refused" 'IpAddresses' \
	fm_rpc admin FleetManager.MoveIpAddresses "{\"HypervisorHostname\":\"$H0\",\"IpAddresses\":[\"10.0.0\"]}"
t_expect "PowerOnMachine by neither owner nor admin: no access to resource" '"Error":"no access to resource"' \
	fm_rpc user FleetManager.PowerOnMachine "{\"Hostname\":\"$H0\"}"
t_expect "PowerOnMachine of an unknown machine: Hypervisor not found" '"Error":"Hypervisor not found"' \
	fm_rpc admin FleetManager.PowerOnMachine '{"Hostname":"nosuch"}'
t_expect "PowerOnMachine by an owner reaches power-on (no IPMI tool or link here: its error)" \
	'"Error":"[^"]+' fm_rpc ops FleetManager.PowerOnMachine '{"Hostname":"10.1.0.7"}'
t_expect "GetHypervisorForVM of an unknown VM: VM not found" '"Error":"VM not found"' \
	fm_rpc user FleetManager.GetHypervisorForVM '{"IpAddress":"10.0.0.150"}'
t_expect_fail "GetHypervisorForVM with a malformed address is refused" 'IpAddress' \
	fm_rpc user FleetManager.GetHypervisorForVM '{"IpAddress":"nonsense"}'

# ---- a read-only fleet manager ----
fm_stop
if fm_start; then
	t_expect "read-only: GetMachineInfo refused without IgnoreMissingLocalTags" \
		'"Error":"this is a read-only Fleet Manager: full machine information is not available"' \
		fm_rpc user FleetManager.GetMachineInfo "{\"Hostname\":\"$H0\"}"
	t_expect "read-only: GetMachineInfo with IgnoreMissingLocalTags answers" '"Location":"NYC/rack0"' \
		fm_rpc user FleetManager.GetMachineInfo "{\"Hostname\":\"$H0\",\"IgnoreMissingLocalTags\":true}"
	t_expect "read-only: ChangeMachineTags refused" '"Error":"this is a read-only Fleet Manager"' \
		fm_rpc admin FleetManager.ChangeMachineTags "{\"Hostname\":\"$H0\",\"Tags\":{\"A\":\"b\"}}"
	t_expect "read-only: GetUpdates without IgnoreMissingLocalTags gets an Error" '"Error":"this is a read-only' \
		fm_watch user '{"Location":""}' 'Error' 5
	t_expect "read-only: GetUpdates with IgnoreMissingLocalTags gets the state" '"ChangedMachines"' \
		fm_watch user '{"Location":"","IgnoreMissingLocalTags":true}' 'ChangedMachines' 5
else
	t_fail "start read-only"
fi
fm_stop
if grep -qE 'ERROR: [A-Za-z]*Sanitizer|runtime error' "$FM_DIR/daemon.out"; then
	t_fail "no sanitizer report in the daemon's output" "$(grep -m3 -E 'Sanitizer|runtime error' "$FM_DIR/daemon.out")"
else
	t_ok "no sanitizer report in the daemon's output"
fi
