# shellcheck shell=bash
# Checks shared by the hostile-client tests (sourced after tests/lib/hyper.sh, with a
# daemon started by hv_daemon_start and the certificates of hv_setup):
#
#   hostile_mark              remember the daemon's open fds and RSS (the start figures);
#                             the daemon is $HOSTILE_PID if set, else $HV_PID
#   hostile_alive WHAT        /healthz answers (5 s) and an admin ListVMs is served;
#                             one TAP line each, named "WHAT: ..."
#   hostile_settled WHAT [S]  within S seconds (default 20) the daemon's fds are back to
#                             the start figure (+2) and its RSS to start + slack; one
#                             TAP line
#
# RSS slack: 32 MiB; 96 MiB under AddressSanitizer, whose quarantine of freed memory
# this file shrinks from 256 to 16 MiB, and whose allocator it makes return free memory
# to the system after 200 ms, for the programs the test starts after sourcing it
# (source it before hv_daemon_start). HOSTILE_RSS_SLACK_KB overrides the slack.

export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:allocator_release_to_os_interval_ms=200

_hostile_fds() { find "/proc/${HOSTILE_PID:-$HV_PID}/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
_hostile_rss() { awk '/^VmRSS:/ {print $2}' "/proc/${HOSTILE_PID:-$HV_PID}/status" 2>/dev/null; }

hostile_mark() {
	HOSTILE_FDS=$(_hostile_fds)
	HOSTILE_RSS=$(_hostile_rss)
}

hostile_alive() { # WHAT
	local out
	if out=$(hv_curl healthz --max-time 5 -o /dev/null -w '%{http_code}' 2>&1) &&
		[ "$out" = 200 ]; then
		t_ok "$1: /healthz answers"
	else
		t_fail "$1: /healthz answers" "$out"
	fi
	if out=$(rpc_at "127.0.0.1:$HV_PORT" admin Hypervisor.ListVMs '{}' 2>&1 </dev/null) && grep -q 'IpAddresses' <<<"$out"; then
		t_ok "$1: an admin's ListVMs is served"
	else
		t_fail "$1: an admin's ListVMs is served" "$(head -c 300 <<<"$out")"
	fi
}

hostile_settled() { # WHAT [SECONDS]
	local what=$1 secs=${2:-20} slack fds rss i
	slack=${HOSTILE_RSS_SLACK_KB:-32768}
	if [ -z "${HOSTILE_RSS_SLACK_KB:-}" ] && grep -q libasan "/proc/${HOSTILE_PID:-$HV_PID}/maps" 2>/dev/null; then
		slack=98304
	fi
	for ((i = 0; i < secs * 5; i++)); do
		fds=$(_hostile_fds) rss=$(_hostile_rss)
		[ -n "$rss" ] || break
		[ "$fds" -le $((HOSTILE_FDS + 2)) ] && [ "$rss" -le $((HOSTILE_RSS + slack)) ] && break
		sleep 0.2
	done
	if [ -z "$rss" ]; then
		t_fail "$what: fds and RSS back to the start figures" "the daemon is gone"
	elif [ "$fds" -le $((HOSTILE_FDS + 2)) ] && [ "$rss" -le $((HOSTILE_RSS + slack)) ]; then
		t_ok "$what: fds and RSS back to the start figures ($HOSTILE_FDS -> $fds fds, ${HOSTILE_RSS} -> $rss KiB)"
	else
		t_fail "$what: fds and RSS back to the start figures" \
			"fds $HOSTILE_FDS -> $fds, RSS $HOSTILE_RSS -> $rss KiB (slack $slack KiB)"
	fi
}
