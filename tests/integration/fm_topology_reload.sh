#!/usr/bin/env bash
# timeout: 300
# The fleet manager follows its topology. With -topologyRepository (a local Git
# repository made here): the clone in the state directory, a good commit picked up
# (GetMachineInfo and a GetUpdates watcher see the new tag), a broken commit refused
# (the error names file and line in the log and on the status page, the old topology
# keeps being served), a fix reloads. The same with -topologyDir and file edits.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/fleet.sh"
t_require openssl "certificates are made at test time"
t_require git "the topology repository is a Git repository"
t_require python3 "GetUpdates is read with tests/lib/srpc_raw.py"
t_require curl "the pages are read with curl"

fm_setup || exit 0
scale=${SS_TIMEOUT_SCALE:-1}

wait_for() { # SECS CMD...: CMD succeeds within SECS
	local end=$((SECONDS + $1 * scale))
	shift
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@"
}
site_is() { fm_rpc user FleetManager.GetMachineInfo '{"Hostname":"sjc-hyper0"}' | grep -q "\"Site\":\"$1\""; }
log_has() { grep -qE -- "$1" "$FM_DIR/daemon.out"; }
page_has() { fm_curl "" | grep -qE -- "$1"; }
metric_is() { fm_curl metrics | grep -q "^$1$"; }
git_r() { git -C "$FM_DIR/repo" -c user.name=test -c user.email=test@example.com "$@"; }

# ---- -topologyRepository ----
repo=$FM_DIR/repo
if ! { fm_topology "$repo" && git init -q "$repo" && git_r add -A && git_r commit -qm "fixture"; }; then
	t_fail "make the topology repository"
	exit 0
fi
if ! fm_start -manageHypervisors -topologyRepository="$repo" -checkInterval=300ms; then
	t_fail "fleet-manager starts from a Git repository"
	exit 0
fi
t_ok "fleet-manager starts from a Git repository"
t_check "the repository is cloned into <stateDir>/topology" test -d "$FM_DIR/state/topology/.git"
t_check "the cloned topology is served" site_is SJC

fm_watch user '{"Location":"SJC"}' '"Site":"SJC-2"' 20 >"$FM_DIR/watch.out" 2>&1 &
wpid=$!
fm_wait_first "$FM_DIR/watch.out"
echo '{"Site": "SJC-2"}' >"$repo/SJC/tags.json"
git_r commit -qam "SJC-2"
t_check "a good commit is picked up (GetMachineInfo)" wait_for 10 site_is SJC-2
wait "$wpid"
if tail -n +2 "$FM_DIR/watch.out" | grep -q '"Hostname":"sjc-hyper0".*"Site":"SJC-2"'; then
	t_ok "a GetUpdates watcher receives the change of the commit"
else
	t_fail "a GetUpdates watcher receives the change of the commit" "$(tail -c 300 "$FM_DIR/watch.out")"
fi

cat >"$repo/SJC/machines.json" <<'JSON'
[{"Hostname": "sjc-hyper0", "HostIpAddress": "10.40.0.2", "OwnerGroups": ["sjc-team", "fleet-ops"],
  "Tags": {"RequiredImage": "hypervisor/sjc-pinned"}},
 {"Hostname": "sjc-hyper1", "HostIpAddress": "10.40.0.2"}]
JSON
echo '{"Site": "SJC-broken"}' >"$repo/SJC/tags.json"
git_r commit -qam "broken: a duplicate IP"
t_check "a broken commit is refused: the log names file and line" \
	wait_for 10 log_has 'refused.*SJC/machines.json:[0-9]+:'
t_check "the status page shows the refusal with file and line" page_has 'SJC/machines.json:[0-9]+:'
t_check "/metrics: topology_error 1" metric_is 'fleet_manager_topology_error 1'
t_check "the old topology keeps being served" site_is SJC-2
t_expect "the new machine of the broken commit is not served" '"Error":"Hypervisor not found"' \
	fm_rpc user FleetManager.GetMachineInfo '{"Hostname":"sjc-hyper1"}'
n=$(grep -c 'refused' "$FM_DIR/daemon.out")
sleep 1
if [ "$(grep -c 'refused' "$FM_DIR/daemon.out")" = "$n" ]; then
	t_ok "the refusal is logged once, not at every check"
else
	t_fail "the refusal is logged once" "$(grep -c refused "$FM_DIR/daemon.out") lines"
fi
sed -i 's/"HostIpAddress": "10.40.0.2"}]/"HostIpAddress": "10.40.0.3"}]/' "$repo/SJC/machines.json"
echo '{"Site": "SJC-3"}' >"$repo/SJC/tags.json"
git_r commit -qam "fixed"
t_check "fixing it reloads" wait_for 10 site_is SJC-3
t_expect "the machine of the fix is served" '"HostIpAddress":"10.40.0.3"' \
	fm_rpc user FleetManager.GetMachineInfo '{"Hostname":"sjc-hyper1"}'
no_refusal() { ! page_has 'topology change refused'; }
t_check "the status page no longer shows a refusal" wait_for 5 no_refusal
t_check "/metrics: topology_error 0" wait_for 5 metric_is 'fleet_manager_topology_error 0'
# A rewritten history (force-push) is followed too.
git_r reset -q --hard HEAD~3
t_check "a rewritten remote history is followed" wait_for 10 site_is SJC
fm_stop

# ---- a repository that cannot be cloned ----
t_expect_fail --exit=1 "a repository that cannot be cloned: exit 1 with git's message" \
	'git clone .*nosuch' ip netns exec "$FM_NS" "$FM_BIN/fleet-manager" -portNum=0 -stateDir="$FM_DIR/s2" \
	-logDir="$FM_DIR/log" -CAfile="$FM_DIR/certs/CA.pem" -certFile="$FM_DIR/certs/server.cert" \
	-keyFile="$FM_DIR/certs/server.key" -topologyRepository="$FM_DIR/nosuch"

# ---- -topologyDir ----
dir=$FM_DIR/topology
if ! fm_start -manageHypervisors -topologyDir="$dir" -checkInterval=300ms; then
	t_fail "fleet-manager starts from a directory"
	exit 0
fi
fm_watch user '{"Location":""}' '"Site":"SJC-dir"' 20 >"$FM_DIR/watch2.out" 2>&1 &
wpid=$!
fm_wait_first "$FM_DIR/watch2.out"
echo '{"Site": "SJC-dir"}' >"$dir/SJC/tags.json"
t_check "-topologyDir: an edit is picked up (GetMachineInfo)" wait_for 10 site_is SJC-dir
wait "$wpid"
if tail -n +2 "$FM_DIR/watch2.out" | grep -q '"Site":"SJC-dir"'; then
	t_ok "-topologyDir: a GetUpdates watcher receives the edit"
else
	t_fail "-topologyDir: a GetUpdates watcher receives the edit" "$(tail -c 300 "$FM_DIR/watch2.out")"
fi
printf '{\n  "Site": "SJC-bad",\n  oops\n}\n' >"$dir/SJC/tags.json"
t_check "-topologyDir: a broken edit is refused, the log names file and line" \
	wait_for 10 log_has 'refused.*SJC/tags.json:[0-9]+'
t_check "-topologyDir: the status page shows it" page_has 'SJC/tags.json:[0-9]+'
t_check "-topologyDir: the old topology keeps being served" site_is SJC-dir
echo '{"Site": "SJC-dir2"}' >"$dir/SJC/tags.json"
t_check "-topologyDir: fixing it reloads" wait_for 10 site_is SJC-dir2
fm_stop
if grep -qE 'ERROR: [A-Za-z]*Sanitizer|runtime error' "$FM_DIR/daemon.out"; then
	t_fail "no sanitizer report in the daemon's output" "$(grep -m3 -E 'Sanitizer|runtime error' "$FM_DIR/daemon.out")"
else
	t_ok "no sanitizer report in the daemon's output"
fi
