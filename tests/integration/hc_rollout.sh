#!/usr/bin/env bash
# timeout: 300
# hyper-control rollout-image against 30 simulated hypervisors (bench/fleet/fleet_sim.c
# with its upgrade agents) behind a real fleet-manager (tests/lib/fleet.sh) and a real
# imageserver, all on loopback in the fleet-manager's namespace; the topology is a Git
# clone with a bare origin. Hosts 0-9 run no VM (unused), 10-29 run two (used).
#   v2: the whole run; the ramp 1, 2, 3... per phase, step by step (the simulator's
#       upgrade start times); every host upgraded once; tags.json committed and pushed
#   v3: host 3 fails its health check on the new image: it falls back, is restored to
#       v2 and healthy, hosts past the budget are not touched, no commit
#   v4: kill -9 midway, a second run continues: no host upgraded twice
#   v5: SIGTSTP holds the scheduling, SIGCONT resumes
#   v6: host 7 unhealthy before: not upgraded, reported; the others are
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/fleet.sh"
t_require openssl "certificates are made at test time"
t_require curl "the simulator's pages are read with curl"
t_require git "the topology is a Git repository"
t_require python3 "the simulator's record is read with python3"

n=30 loc=bench/dc0/rack0
fm_setup || exit 0
c=$FM_DIR/certs
if ! { srpc_cert "$c" sim CA hypervisor san=IP:127.0.0.1 &&
	srpc_cert "$c" roll CA operator grants='FleetManager.*,ImageServer.*,ObjectServer.*,Hypervisor.*' &&
	srpc_cert "$c" agent CA agent grants='FleetManager.*,ImageServer.*' &&
	srpc_ca "$c" IdentityCA; }; then
	t_fail "certificates"
	exit 0
fi
mkdir -p "$FM_DIR/hc" "$FM_DIR/home"
cp "$c/roll.cert" "$FM_DIR/hc/cert.pem" && cp "$c/roll.key" "$FM_DIR/hc/key.pem"

# ---- topology: one location, machine i is hv<i> at 127.16.0.1 + i
tsrc=$FM_DIR/topo-src
mkdir -p "$tsrc/$loc"
echo '{"RequiredImage": "hypervisor/v1"}' >"$tsrc/tags.json"
echo '[{"Id": "rack0", "IpGateway": "10.100.0.1", "IpMask": "255.255.240.0", "Manage": false}]' \
	>"$tsrc/$loc/subnets.json"
{
	echo "["
	for ((i = 0; i < n; i++)); do
		printf '  {"Hostname": "hv%05d", "HostIpAddress": "127.16.0.%d"}%s\n' "$i" $((i + 1)) \
			"$([ $((i + 1)) -lt $n ] && echo ,)"
	done
	echo "]"
} >"$tsrc/$loc/machines.json"
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.com GIT_COMMITTER_NAME=test \
	GIT_COMMITTER_EMAIL=test@example.com
if ! { git -C "$tsrc" init -q && git -C "$tsrc" add -A && git -C "$tsrc" commit -qm topology &&
	git clone -q --bare "$tsrc" "$FM_DIR/origin.git" &&
	git clone -q "$FM_DIR/origin.git" "$FM_DIR/topo"; }; then
	t_fail "topology repository"
	exit 0
fi
commits() { git -C "$FM_DIR/origin.git" rev-list --count HEAD; }

# ---- imageserver with hypervisor/v1..v6
srv=$FM_DIR/imgsrv
mkdir -p "$srv/tree"
echo kernel >"$srv/tree/vmlinuz"
# Not through fm_ns: $! must be the process itself (ip execs it), for the cleanup.
ip netns exec "$FM_NS" "$SS_BIN/imageserver" -portNum=6971 -imageDir="$srv/images" -objectDir="$srv/objects" \
	-CAfile="$c/CA.pem" -identityCAfile="$c/IdentityCA.pem" -certFile="$c/server.cert" \
	-keyFile="$c/server.key" -logDir="$srv/log" >"$srv/stderr" 2>&1 &
is_pid=$!
t_cleanup kill "$is_pid"
for _ in $(seq 100); do fm_ns curl -sf -o /dev/null http://127.0.0.1:6971/ && break; sleep 0.1; done
mkdir -p "$FM_DIR/it"
cp "$c/roll.cert" "$FM_DIR/it/roll.cert" && cp "$c/roll.key" "$FM_DIR/it/roll.key"
it() { fm_ns "$SS_BIN/imagetool" -quiet -certDirectory="$FM_DIR/it" -CAfile="$c/CA.pem" \
	-imageServerHostname=127.0.0.1 "$@"; }
ok=1
it mkdir hypervisor >>"$srv/it.log" 2>&1 || ok=0
for v in 1 2 3 4 5 6; do it add "hypervisor/v$v" "$srv/tree" >>"$srv/it.log" 2>&1 || ok=0; done
if [ "$ok" = 1 ]; then
	t_ok "imageserver holds hypervisor/v1..v6"
else
	t_fail "imageserver holds hypervisor/v1..v6" "$(cat "$srv/it.log" "$srv/stderr" | tail -n 3)"
	exit 0
fi

# ---- the simulator, then the fleet-manager
fm_ns sysctl -qw net.core.somaxconn=1024 2>/dev/null || true
ip netns exec "$FM_NS" "$SS_BIN/fleet-sim" -n="$n" -vms=2 -idle=10 -certFile="$c/sim.cert" -keyFile="$c/sim.key" \
	-CAfile="$c/CA.pem" -CAkeyFile="$c/CA.key" -fleetManager=127.0.0.1:6977 \
	-imageServer=127.0.0.1:6971 -agentCertFile="$c/agent.cert" -agentKeyFile="$c/agent.key" \
	-upgradeTime=1200ms -fallbackTime=800ms -initialImage=hypervisor/v1 >"$FM_DIR/sim.log" 2>&1 &
sim_pid=$!
t_cleanup kill "$sim_pid"
sim() { fm_ns curl -s --max-time 10 "http://127.0.0.1:6976/$1"; }
fm_start -topologyDir="$tsrc" -hypervisorPortNum=6976 -manageHypervisors || { t_fail "fleet-manager starts"; exit 0; }
streaming=0
for _ in $(seq 300); do
	streaming=$(sim stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["Streaming"])' 2>/dev/null)
	[ "${streaming:-0}" -ge "$n" ] && break
	sleep 0.1
done
t_check "the fleet-manager streams from all $n simulated hypervisors" test "${streaming:-0}" -ge "$n"

hcargs=(ip netns exec "$FM_NS" "$SS_BIN/hyper-control" -certDirectory="$FM_DIR/hc"
	-CAfile="$c/CA.pem" -fleetManagerHostname=127.0.0.1 -imageServerHostname=127.0.0.1
	-location="$loc" -topologyDir="$FM_DIR/topo" -bakeTime=300ms -pollInterval=100ms
	-connectTimeout=3s -rolloutStateFile="$FM_DIR/rollout.json")
export HOME=$FM_DIR/home HYPER_CONTROL_SYSCONFDIR=/nonexistent
hc() { "${hcargs[@]}" "$@"; }
hc_bg() { exec "${hcargs[@]}" "$@"; } # in a background subshell: $! is hyper-control
# py EXPR: evaluates EXPR with u = the simulator's /upgrades record
py() { sim upgrades | python3 -c "import json,sys; u=json.load(sys.stdin); $1"; }
# Batch sizes of the upgrades to IMAGE in hosts [lo, hi): starts closer than 500 ms
# apart are one batch (an upgrade takes 1.2 s).
batches() {
	py "
s=sorted(x['StartMs'] for h,v in u.items() if $2 <= int(h[2:]) < $3 for x in v['Starts'] if x['Image']=='$1')
b=[]; last=None
for t in s:
    if last is None or t-last > 500: b.append(0)
    b[-1]+=1; last=t
print(' '.join(map(str,b)))"
}

# ---- v2: the whole run
c0=$(commits)
out=$(hc rollout-image hypervisor/v2 2>&1)
rc=$?
printf '%s\n' "$out" | tail -5 | sed 's/^/# /'
t_check "rollout of v2 succeeds (exit 0)" test "$rc" = 0
t_expect "every host runs v2, each upgraded once" "^30$" \
	py "print(sum(1 for v in u.values() if v['Running']=='hypervisor/v2' and sum(1 for x in v['Starts'] if x['Image']=='hypervisor/v2')==1))"
b0=$(batches hypervisor/v2 0 10) b1=$(batches hypervisor/v2 10 30)
# unused: 10 hosts, ramp up to 10: 1 2 3 4; used: 20 hosts, ramp up to 10: 1 2 3 4 5 5
t_check "ramp of the unused phase is 1 2 3 4 (got: $b0)" test "$b0" = "1 2 3 4"
t_check "ramp of the used phase is 1 2 3 4 5 5 (got: $b1)" test "$b1" = "1 2 3 4 5 5"
t_check "the used phase starts after the unused one ends" \
	py "import sys; a=max(x['StartMs'] for h,v in u.items() if int(h[2:])<10 for x in v['Starts']); b=min(x['StartMs'] for h,v in u.items() if int(h[2:])>=10 for x in v['Starts']); sys.exit(0 if b>a+1000 else 1)"
t_check "the topology repository got one commit" test "$(commits)" = $((c0 + 1))
t_expect "its message and tags.json" "Upgrade in $loc from  to hypervisor/v2" \
	git -C "$FM_DIR/origin.git" log -1 --format=%s
t_expect "tags.json in the pushed commit" '"RequiredImage": "hypervisor/v2"' \
	git -C "$FM_DIR/origin.git" show "HEAD:$loc/tags.json"
t_check "the state file is gone after success" test ! -e "$FM_DIR/rollout.json"
t_expect "a second run: all already updated" "already run hypervisor/v2" hc rollout-image hypervisor/v2

# ---- v3: host 3 fails health on the new image
sim "control?bad=3" >/dev/null
c0=$(commits)
t_expect_fail --exit=1 "rollout of v3 with a bad host fails" "1 failed.*nothing committed" \
	hc rollout-image hypervisor/v3
t_expect "host 3 is back on v2 (A/B fallback and its tag restored)" "^hypervisor/v2 hypervisor/v2$" \
	py "print(u['hv00003']['Running'], u['hv00003']['Required'])"
t_expect "host 3 is healthy again" '"Healthy":true' fm_ns curl -s http://127.16.0.4:6976/health
t_expect "no host past the budget was touched (only 0-5: 1, 2, 3 in flight)" "^0 1 2 3 4 5$" \
	py "print(' '.join(h[2:].lstrip('0') or '0' for h,v in sorted(u.items()) if any(x['Image']=='hypervisor/v3' for x in v['Starts'])))"
t_check "no commit after a failure" test "$(commits)" = "$c0"
sim "control?bad=" >/dev/null

# ---- v4: kill -9 midway, then a second run
hc_bg rollout-image hypervisor/v4 >"$FM_DIR/v4a.log" 2>&1 &
hc_pid=$!
for _ in $(seq 300); do
	started=$(py "print(sum(1 for v in u.values() for x in v['Starts'] if x['Image']=='hypervisor/v4'))")
	[ "${started:-0}" -ge 8 ] && break
	sleep 0.1
done
kill -9 "$hc_pid" 2>/dev/null
wait "$hc_pid" 2>/dev/null
t_check "killed with -9 after $started upgrades started, state file left" test -s "$FM_DIR/rollout.json"
out=$(hc rollout-image hypervisor/v4 2>&1)
rc=$?
printf '%s\n' "$out" | grep -m1 continuing | sed 's/^/# /'
t_check "the second run succeeds" test "$rc" = 0
t_expect "it continued from the state file" "continuing the rollout of hypervisor/v4" echo "$out"
t_expect "every host runs v4, none upgraded twice" "^30 0$" \
	py "c=[sum(1 for x in v['Starts'] if x['Image']=='hypervisor/v4') for v in u.values()]; print(sum(1 for v in u.values() if v['Running']=='hypervisor/v4'), sum(1 for k in c if k>1))"

# ---- v5: pause and resume
hc_bg rollout-image hypervisor/v5 >"$FM_DIR/v5.log" 2>&1 &
hc_pid=$!
count5() { py "print(sum(1 for v in u.values() for x in v['Starts'] if x['Image']=='hypervisor/v5'))"; }
for _ in $(seq 300); do [ "$(count5)" -ge 3 ] && break; sleep 0.1; done
kill -TSTP "$hc_pid"
sleep 1.6 # in-flight upgrades finish (1.2 s + bake)
p1=$(count5)
sleep 2.5
p2=$(count5)
t_check "SIGTSTP holds the scheduling ($p1 started, still $p2 after 2.5 s)" test "$p1" = "$p2"
kill -CONT "$hc_pid"
wait "$hc_pid"
rc=$?
t_check "SIGCONT resumes: the rollout of v5 succeeds" test "$rc" = 0
t_expect "the log says paused and resumed" "paused.*" grep -E "paused|resumed" "$FM_DIR/v5.log"
t_expect "every host runs v5" "^30$" py "print(sum(1 for v in u.values() if v['Running']=='hypervisor/v5'))"

# ---- v6: the baseline gate
sim "control?unhealthy=7" >/dev/null
c0=$(commits)
t_expect_fail --exit=1 "rollout of v6 with host 7 unhealthy before: reported, exit 1" \
	"not upgraded: hv00007: unhealthy before the upgrade" hc rollout-image hypervisor/v6
t_expect "host 7 was not upgraded, the 29 others were" "^hypervisor/v5 29$" \
	py "print(u['hv00007']['Running'], sum(1 for h,v in u.items() if v['Running']=='hypervisor/v6'))"
t_check "no commit when a host was not upgraded" test "$(commits)" = "$c0"
sim "control?unhealthy=" >/dev/null
