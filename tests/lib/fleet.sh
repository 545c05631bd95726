# shellcheck shell=bash
# Fleet manager test harness (sourced, bash, after tests/lib/tap.sh). The daemon runs
# in a private network namespace ($FM_NS, loopback only), so the hypervisors of the
# topology it dials are unreachable unless a test provides them, and port 6977 is ours.
# Everything is removed by t_cleanup, even on failure.
#
#   fm_setup              directory $FM_DIR, namespace, certificates in $FM_DIR/certs
#                         (see below), the fixture topology copied to $FM_DIR/topology
#   fm_start FLAGS...     start build/bin/fleet-manager (state $FM_DIR/state, log
#                         $FM_DIR/daemon.out) with -topologyDir=$FM_DIR/topology unless
#                         FLAGS give a topology; waits for /healthz
#   fm_stop / fm_kill9    SIGTERM and wait / kill -9
#   fm_rpc WHO METHOD [JSON]    one RR call as WHO (srpc-testc)
#   fm_watch WHO JSON RE [SECS] GetUpdates as WHO: prints the first Update line and
#                         what follows until RE matched or SECS (default 20) passed
#   fm_wait_first FILE    wait (10 s at most) until FILE, the output of an fm_watch in
#                         the background, has its first message
#   fm_curl PATH [CURL ARGS]    GET http://127.0.0.1:$FM_PORT/PATH in the namespace
#   fm_ns CMD...          run CMD in the namespace
#
# Certificates (files $FM_DIR/certs/WHO.cert and .key), all of CA.pem but stranger:
#   admin    granted FleetManager.* (an admin of every method)
#   bob      no grants, an owner user of row00-rack0-hyper0 (NYC/rack0)
#   ops      CN carol, group fleet-ops (an owner group of every machine)
#   sjc      CN erin, group sjc-team (owner group of sjc-hyper0 only)
#   user     CN dave, no grants and owner of nothing
#   stranger CN mallory, granted FleetManager.* by an unknown CA
#
# The fixture is tests/fixtures/topology (NYC/rack0, NYC/rack1, SJC) plus LAB with
# lab-hyper0 at 127.0.0.1 (the caller's address in the namespace).

. "$SS_TOP/tests/lib/srpc.sh"

FM_PORT=${FM_PORT:-6977}
FM_BIN=${FM_BIN:-$SS_BIN}

fm_ns() { ip netns exec "$FM_NS" "$@"; }

fm_cleanup() {
	[ -n "${FM_DIR:-}" ] || return 0
	fm_kill9
	local p
	for p in $(pgrep -f "fleet-manager .*-stateDir=$FM_DIR/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	mkdir -p "$SS_TOP/build/test-logs"
	cp "$FM_DIR/daemon.out" "$SS_TOP/build/test-logs/$(basename "$0" .sh)-fleet-manager.out" 2>/dev/null
	ip netns del "$FM_NS" 2>/dev/null
	rm -rf "$FM_DIR"
}

fm_certs() {
	local c=$FM_DIR/certs
	mkdir -p "$c"
	srpc_ca "$c" CA && srpc_ca "$c" OtherCA &&
		srpc_cert "$c" server CA fleet-manager san=DNS:localhost,IP:127.0.0.1 &&
		srpc_cert "$c" admin CA admin grants='FleetManager.*' &&
		srpc_cert "$c" bob CA bob &&
		srpc_cert "$c" ops CA carol groups=fleet-ops &&
		srpc_cert "$c" sjc CA erin groups=sjc-team &&
		srpc_cert "$c" user CA dave &&
		srpc_cert "$c" stranger OtherCA mallory grants='FleetManager.*'
}

fm_topology() { # DIR: the fixture plus LAB
	mkdir -p "$1" &&
		cp -r "$SS_TOP/tests/fixtures/topology/." "$1/" &&
		mkdir -p "$1/LAB" &&
		cat >"$1/LAB/machines.json" <<'JSON'
[{"Hostname": "lab-hyper0", "HostIpAddress": "127.0.0.1", "HostMacAddress": "52:54:00:00:0a:01",
  "Tags": {"Type": "lab"}}]
JSON
}

fm_setup() {
	FM_DIR=$(mktemp -d "/tmp/${SS_ID}-fm.XXXXXX") || { t_fail "test directory"; return 1; }
	FM_NS=${SS_ID}fm
	t_cleanup fm_cleanup
	mkdir -p "$FM_DIR/state" "$FM_DIR/log"
	ip netns add "$FM_NS" || { t_fail "network namespace"; return 1; }
	fm_ns ip link set lo up
	fm_certs || { t_fail "test certificates"; return 1; }
	fm_topology "$FM_DIR/topology" || { t_fail "fixture topology"; return 1; }
}

fm_start() {
	local i topo=("-topologyDir=$FM_DIR/topology") a
	for a in "$@"; do
		case $a in -topologyDir* | -topologyRepository*) topo=() ;; esac
	done
	FM_LOG=$FM_DIR/daemon.out
	# Not through fm_ns: $! must be the daemon itself (ip execs it).
	ip netns exec "$FM_NS" "$FM_BIN/fleet-manager" -stateDir="$FM_DIR/state" \
		-logDir="$FM_DIR/log" -portNum="$FM_PORT" -CAfile="$FM_DIR/certs/CA.pem" \
		-certFile="$FM_DIR/certs/server.cert" -keyFile="$FM_DIR/certs/server.key" \
		-alsoLogToStderr "${topo[@]}" "$@" >>"$FM_LOG" 2>&1 &
	FM_PID=$!
	for ((i = 0; i < 300 * ${SS_TIMEOUT_SCALE:-1}; i++)); do
		if ! kill -0 "$FM_PID" 2>/dev/null; then
			echo "fleet-manager exited; output:" >&2
			tail -20 "$FM_LOG" >&2
			FM_PID=
			return 1
		fi
		fm_curl healthz -f >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "fleet-manager did not answer /healthz" >&2
	return 1
}

fm_stop() {
	[ -n "${FM_PID:-}" ] || return 0
	kill "$FM_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$FM_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$FM_PID" 2>/dev/null
	wait "$FM_PID" 2>/dev/null
	FM_PID=
}

fm_kill9() {
	[ -n "${FM_PID:-}" ] || return 0
	kill -9 "$FM_PID" 2>/dev/null
	wait "$FM_PID" 2>/dev/null
	FM_PID=
}

fm_rpc() { # WHO METHOD [JSON]
	local who=$1
	shift
	fm_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$FM_PORT" -serverName=localhost \
		-certFile="$FM_DIR/certs/$who.cert" -keyFile="$FM_DIR/certs/$who.key" \
		-CAfile="$FM_DIR/certs/CA.pem" -timeout=30s call "$@"
}

fm_watch() { # WHO JSON RE [SECS]
	fm_ns python3 "$SS_TOP/tests/lib/srpc_raw.py" -c "$FM_DIR/certs/$1.cert" \
		-k "$FM_DIR/certs/$1.key" --ca "$FM_DIR/certs/CA.pem" --timeout "${4:-20}" \
		--until "$3" "127.0.0.1:$FM_PORT" session FleetManager.GetUpdates "$2"
}

fm_wait_first() { # FILE
	local i
	for ((i = 0; i < 100 * ${SS_TIMEOUT_SCALE:-1}; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

fm_curl() { # PATH [CURL ARGS]
	local path=$1
	shift
	fm_ns curl -sS --max-time 10 "$@" "http://127.0.0.1:$FM_PORT/$path"
}
