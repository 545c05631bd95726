#!/usr/bin/env bash
# timeout: 180
# lib/server with a real process (ss-testserver, tests/helpers/ss_testserver.c): an SRPC
# call over mutual TLS, /healthz, a loopback-only page refused to a caller off loopback
# (in a private network namespace with a bridge address), /metrics in Prometheus text
# format, /logs showing a logged line, SIGHUP reopening the log files, a stop that lets a
# call in progress finish and closes idle connections, exit 0 and nothing left behind.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
. "$SS_TOP/tests/lib/prom.sh"
t_require openssl "certificates are made at test time"
t_require curl "the pages are read with curl"
scale=${SS_TIMEOUT_SCALE:-1}

d=$(mktemp -d "/tmp/${SS_ID}-server.XXXXXX")
t_cleanup rm -rf "$d"
if ! { srpc_ca "$d" CA && srpc_cert "$d" server CA srv san=DNS:localhost,IP:127.0.0.1 &&
  srpc_cert "$d" alice CA alice; }; then
  t_fail "make certificates"
  exit 0
fi

# A caller off loopback needs a second address: a bridge's, in a private namespace.
ns=${SS_ID}srv
remote=10.104.0.1
if ip netns add "$ns" 2>/dev/null; then
  t_cleanup ip netns del "$ns"
  in_ns() { ip netns exec "$ns" "$@"; }
  if ! { in_ns ip link set lo up && in_ns ip link add "${SS_ID}sb" type bridge &&
    in_ns ip addr add "$remote/24" dev "${SS_ID}sb" && in_ns ip link set "${SS_ID}sb" up; }; then
    t_fail "network namespace with a bridge"
    exit 0
  fi
  listen=:0
  no_remote=""
else
  in_ns() { "$@"; }
  listen=127.0.0.1:0
  no_remote="cannot create a network namespace (ip netns add failed: not root?)"
fi

srv_pid=""
start_server() { # LOGDIR [flags...]: sets srv_pid and port
  local log=$1 i
  shift
  rm -f "$d/port"
  # Not through the in_ns function: $! must be the server itself (ip execs it).
  if [ -z "$no_remote" ]; then
    ip netns exec "$ns" "$SS_BIN/ss-testserver" -addr="$listen" -portFile="$d/port" \
      -certFile="$d/server.cert" -keyFile="$d/server.key" -CAfile="$d/CA.pem" \
      -logDir="$log" "$@" >>"$d/server.out" 2>&1 &
  else
    "$SS_BIN/ss-testserver" -addr="$listen" -portFile="$d/port" \
      -certFile="$d/server.cert" -keyFile="$d/server.key" -CAfile="$d/CA.pem" \
      -logDir="$log" "$@" >>"$d/server.out" 2>&1 &
  fi
  srv_pid=$!
  t_cleanup kill -9 "$srv_pid"
  for ((i = 0; i < 200 * scale; i++)); do
    [ -s "$d/port" ] && port=$(cat "$d/port") && return 0
    kill -0 "$srv_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
get() { # PATH [CURL ARGS]: from loopback
  local path=$1
  shift
  in_ns curl -sS --max-time 10 "$@" "http://127.0.0.1:$port$path"
}
get_remote() { # PATH [CURL ARGS]: from the bridge address, not loopback
  local path=$1
  shift
  in_ns curl -sS --max-time 10 --interface "$remote" "$@" "http://$remote:$port$path"
}
code() { get "$1" -o /dev/null -w '%{http_code}' "${@:2}"; }
c() { # CERT ARGS...: srpc-testc against the server
  local cert=$1
  shift
  in_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$port" -CAfile="$d/CA.pem" -timeout=20s \
    -certFile="$d/$cert.cert" -keyFile="$d/$cert.key" "$@"
}
oneline() { "$@" | tr '\n' ' '; }
exited() { # PID SECONDS: true once PID is gone, its status in $exit_status
  local i
  for ((i = 0; i < $2 * 10 * scale; i++)); do
    if ! kill -0 "$1" 2>/dev/null; then
      wait "$1"
      exit_status=$?
      return 0
    fi
    sleep 0.1
  done
  return 1
}

if ! start_server "$d/log"; then
  t_fail "ss-testserver starts" "$(tail -5 "$d/server.out")"
  exit 0
fi
t_ok "ss-testserver starts (port $port)"

# --- the port: HTTP and SRPC ---
t_expect "/healthz answers OK" '^OK$' get /healthz -f
t_expect "SRPC call over mutual TLS" '^\{"Hello":"<world>"\}$' c alice call Test.Echo '{"Hello":"<world>"}'
t_expect_fail "SRPC without a client certificate is refused" 'certificate required|handshake failure' \
  in_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$port" -CAfile="$d/CA.pem" call Test.Echo '{}'
t_expect "SRPC helpers on the HTTP side" '^\.LocalUpgradeToUnix Test\.Echo Test\.Sleep $' \
  oneline get /_goSRPC_/listMethods
t_expect "/ is an HTML page with the program's chrome" '<h1>ss-testserver</h1>' get /
t_expect "unknown page: 404" '^404$' code /nope
t_expect "POST: 405" '^405$' code /healthz -X POST

# --- access by caller address ---
t_expect "loopback-only page served to a loopback caller" '^the secret page$' get /secret -f
if [ -n "$no_remote" ]; then
  t_skip "loopback-only page refused off loopback" "$no_remote"
  t_skip "/logs refused off loopback" "$no_remote"
  t_skip "public page served off loopback" "$no_remote"
else
  t_expect "loopback-only page refused off loopback" \
    '^forbidden: this page is only served to local callers$' get_remote /secret
  t_expect "/logs refused off loopback" '^403$' get_remote /logs -o /dev/null -w '%{http_code}'
  t_expect "public page served off loopback" '^OK$' get_remote /healthz -f
fi

# --- /metrics ---
get /metrics -D "$d/metrics.head" >"$d/metrics.txt"
t_check "/metrics is valid Prometheus text" prom_check "$d/metrics.txt"
t_expect "/metrics Content-Type is the 0.0.4 text format" \
  '^Content-Type: text/plain; version=0\.0\.4; charset=utf-8' tr -d '\r' <"$d/metrics.head"
t_expect "/metrics counts the call, with its label" \
  '^ss_testserver_echo_calls_total\{method="Test\.Echo"\} 1$' cat "$d/metrics.txt"
t_check "/metrics escapes a label value" grep -qxF \
  'ss_testserver_label_test{value="quote \" backslash \\ newline \n"} -1' "$d/metrics.txt"

# --- /logs ---
t_expect "/logs shows the logged line, escaped" \
  'Test\.Echo from alice: \{&quot;Hello&quot;:&quot;&lt;world&gt;&quot;\}' get /logs
t_expect "/logs carries the program's navigation" '<h1>Recent log lines</h1> <nav><a href="/">home' \
  oneline get /logs
t_expect "/logs?output=text: the bare lines" \
  '^[0-9/]{10} [0-9:]{8} Test\.Echo from alice: \{"Hello":"<world>"\}$' get '/logs?output=text'

# --- SIGHUP reopens the log files ---
nfiles() { find "$1" -type f | wc -l; } # log files; "latest" is a symlink
before=$(nfiles "$d/log")
kill -HUP "$srv_pid"
for ((i = 0; i < 50 * scale; i++)); do
  grep -q 'SIGHUP: log files reopened' "$d/log/latest" 2>/dev/null && break
  sleep 0.1
done
t_check "SIGHUP keeps the server running" kill -0 "$srv_pid"
t_expect "SIGHUP started a new log file" "^$((before + 1))\$" nfiles "$d/log"
t_expect "the new file (latest) takes the lines" 'SIGHUP: log files reopened \(ok\)' cat "$d/log/latest"
t_expect "the server still answers" '^OK$' get /healthz -f

# --- SIGTERM: a call in progress finishes, idle connections close, exit 0 ---
c alice call Test.Sleep '{"Ms":1500}' >"$d/sleep.out" 2>&1 &
sleeper=$!
# An idle tunnel: CONNECT answered, TLS never started.
exec 5< <(in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n' >&3; cat <&3")
read -r -t $((10 * scale)) connected <&5
for ((i = 0; i < 50 * scale; i++)); do
  grep -q 'Test.Sleep: 1500 ms' "$d/log/latest" && break
  sleep 0.1
done
start=$(date +%s%N)
kill -TERM "$srv_pid"
t_expect "an idle SRPC tunnel was open" '^HTTP/1\.0 200 Connected to Go SRPC' echo "$connected"
t_expect "the idle tunnel is closed at the stop" '^end=0$' \
  bash -c "timeout $((10 * scale)) cat >/dev/null; echo end=\$?" <&5
exec 5<&-
wait "$sleeper"
t_expect "the call in progress finished and got its answer" '^\{"Slept":1500\}$' cat "$d/sleep.out"
if exited "$srv_pid" 15; then
  ms=$((($(date +%s%N) - start) / 1000000))
  t_expect "SIGTERM: exit status 0 (no leak under the sanitizers)" '^0$' echo "$exit_status"
  t_ok "stopped ${ms} ms after SIGTERM"
else
  t_fail "SIGTERM: the server exits" "still running"
fi
t_expect "the stop is logged after the call finished" 'Test\.Sleep: done.*stopped by Terminated' \
  oneline cat "$d/log/latest"
t_expect_fail "nothing listens on the port any more" 'refused|Failed to connect|Couldn.t connect' \
  get /healthz
t_check "no ss-testserver process left" bash -c "! pgrep -f '[s]s-testserver.*$d' >/dev/null"

# --- SIGINT, and a drain deadline shorter than the call ---
if start_server "$d/log2" -drainTimeout=300ms; then
  c alice call Test.Sleep '{"Ms":3000}' >"$d/sleep2.out" 2>&1 &
  sleeper=$!
  for ((i = 0; i < 50 * scale; i++)); do
    grep -q 'Test.Sleep: 3000 ms' "$d/log2/latest" 2>/dev/null && break
    sleep 0.1
  done
  kill -INT "$srv_pid"
  wait "$sleeper"
  t_expect "past the drain deadline the call's connection is shut down" \
    'reset|closed|EOF|Connection|broken' cat "$d/sleep2.out"
  if exited "$srv_pid" 15; then
    t_expect "SIGINT: exit status 0" '^0$' echo "$exit_status"
  else
    t_fail "SIGINT: the server exits" "still running"
  fi
  t_expect "SIGINT is logged" 'stopped by Interrupt' cat "$d/log2/latest"
else
  t_fail "ss-testserver starts again" "$(tail -5 "$d/server.out")"
fi
