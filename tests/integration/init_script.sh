# timeout: 240
# shellcheck shell=bash
# The SysV init script (init/hypervisor.init) babysitting the real hypervisor binary,
# in a private network namespace with a private state directory and libvirt's test
# driver: start -> running; kill -9 of the daemon -> the babysitter restarts it;
# stop -> daemon and babysitter gone, pid files removed; restart; a daemon that keeps
# dying is restarted with growing delays; status exit codes follow LSB (0 / 3); the
# daemon it started serves HTTP and, to vm-control, RPC.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"

hv=$SS_BIN/hypervisor
if [ ! -x "$hv" ]; then
  t_skip "init script babysits the hypervisor" "no hypervisor binary at $hv yet"
  exit 0
fi
t_require openssl "the daemon needs certificates, made at test time"
t_require setsid "the babysitter runs in its own session"

d=$(mktemp -d "/tmp/${SS_ID}-init.XXXXXX")
ns=${SS_ID}init
init=$SS_TOP/init/hypervisor.init
t_cleanup rm -rf "$d"
ip netns add "$ns" || { t_fail "create network namespace $ns"; exit 0; }
t_cleanup ip netns del "$ns"
ip -n "$ns" link set lo up
# A bridge, so that the daemon serves RPC (without one it runs in log-only mode).
ip -n "$ns" link add "${SS_ID}b0" type bridge && ip -n "$ns" link set "${SS_ID}b0" up
mkdir -p "$d"/{state,log,volumes,run,certs}
if ! srpc_ca "$d/certs" CA ||
  ! srpc_cert "$d/certs" server CA hypervisor san=DNS:localhost,IP:127.0.0.1 ||
  ! srpc_cert "$d/certs" admin CA admin grants='*.*'; then
  t_fail "make certificates"
  exit 0
fi

args="-stateDir=$d/state -logDir=$d/log -volumeDirectories=$d/volumes -libvirtURI=test:///default"
args="$args -certFile=$d/certs/server.cert -keyFile=$d/certs/server.key -CAfile=$d/certs/CA.pem"
args="$args -identityCAfile=$d/certs/none.pem"
write_defaults() { # extra daemon args
  cat >"$d/defaults" <<EOF
DAEMON=$hv
DAEMON_ARGS="$args $*"
RUN_DIR=$d/run
BABYSITTER_LOG=$d/babysitter.log
RESTART_DELAY=1
START_TIMEOUT=${start_timeout:-30}
STOP_TIMEOUT=30
EOF
}
initd() { HYPERVISOR_DEFAULTS=$d/defaults ip netns exec "$ns" sh "$init" "$@"; }
fails() { ! "$@"; }
pidof_file() { cat "$d/run/$1" 2>/dev/null; }
# A zombie (exited, not yet reaped by PID 1) does not count as running.
running() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
    [ "$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
# Whatever happens, leave no daemon or babysitter behind.
kill_all() {
  local p
  for p in $(pidof_file hypervisor-babysitter.pid) $(pidof_file hypervisor.pid); do
    kill -9 "$p" 2>/dev/null
  done
}
t_cleanup kill_all
write_defaults

# --- start ---
t_expect "start" '^Started hypervisor \(pid [0-9]+, babysitter pid [0-9]+\)' initd start
daemon=$(pidof_file hypervisor.pid) sitter=$(pidof_file hypervisor-babysitter.pid)
if running "$daemon" && running "$sitter"; then t_ok "daemon and babysitter run"; else
  t_fail "daemon and babysitter run" "$(tail -5 "$d/babysitter.log")"; exit 0; fi
t_expect "status: running" 'hypervisor is running' initd status
t_check "daemon's control socket exists" test -S "$d/state/control"
if command -v curl >/dev/null; then
  ok=
  for _ in $(seq 100); do
    ip netns exec "$ns" curl -sf -m 2 http://127.0.0.1:6976/healthz >/dev/null && ok=1 && break
    sleep 0.1
  done
  if [ -n "$ok" ]; then t_ok "the daemon serves /healthz"; else
    t_fail "the daemon serves /healthz" "$(ip netns exec "$ns" curl -s -m 2 http://127.0.0.1:6976/healthz)"; fi
fi
mkdir -p "$d/ssl" && cp "$d/certs/admin.cert" "$d/certs/admin.key" "$d/ssl/"
vmc() { ip netns exec "$ns" "$SS_BIN/vm-control" -certDirectory="$d/ssl" -CAfile="$d/certs/CA.pem" "$@"; }
t_expect "vm-control reaches the daemon started by the script" '"MemoryInMiB": [1-9]' vmc get-capacity
no_vms() { local out; out=$(vmc list-vms) && [ -z "$out" ]; }
t_check "vm-control list-vms: succeeds, no VMs" no_vms
t_expect "start again: already running" 'already running' initd start
t_check "second start changes nothing" test "$(pidof_file hypervisor.pid)" = "$daemon"

# --- kill -9: the babysitter restarts the daemon ---
kill -9 "$daemon"
new=
for _ in $(seq 150); do
  new=$(pidof_file hypervisor.pid)
  if [ -n "$new" ] && [ "$new" != "$daemon" ] && running "$new" && [ -S "$d/state/control" ]; then break; fi
  new=
  sleep 0.1
done
if [ -n "$new" ]; then
  t_ok "killed daemon is restarted (pid $daemon -> $new)"
else
  t_fail "killed daemon is restarted" "$(tail -5 "$d/babysitter.log")"
fi
t_expect "babysitter logged the death" 'exited with status 137 .*restarting in 1s' cat "$d/babysitter.log"
t_check "same babysitter" running "$sitter"

# --- stop: through the control socket, no signal needed ---
out=$(initd stop 2>&1)
if [ "$out" = "Stopped hypervisor" ]; then t_ok "stop"; else t_fail "stop" "$out"; fi
if running "$new" || running "$sitter"; then t_fail "stop ends daemon and babysitter"; else
  t_ok "stop ends daemon and babysitter"; fi
t_check "pid files removed" test ! -e "$d/run/hypervisor.pid" -a ! -e "$d/run/hypervisor-babysitter.pid"
t_check "control socket removed" test ! -e "$d/state/control"
t_expect_fail --exit=3 "status after stop exits 3" '^hypervisor is not running$' initd status
t_expect "stop when stopped" '^Stopped hypervisor$' initd stop

# --- restart (from stopped, then from running) ---
t_expect "restart from stopped" 'Started hypervisor' initd restart
first=$(pidof_file hypervisor.pid)
t_expect "restart while running" 'Stopped hypervisor.*Started hypervisor' \
  bash -c "HYPERVISOR_DEFAULTS=$d/defaults ip netns exec $ns sh $init restart | tr '\n' ' '"
second=$(pidof_file hypervisor.pid)
if [ -n "$second" ] && [ "$second" != "$first" ] && running "$second" && ! running "$first"; then
  t_ok "restart replaced the daemon"
else
  t_fail "restart replaced the daemon" "$first -> $second"
fi
t_expect "stop after restart" '^Stopped hypervisor$' initd stop

# --- a daemon that dies at once: restarts are rate limited ---
start_timeout=3 write_defaults -noSuchFlag
t_check "start reports a daemon that does not stay up" fails initd start
for _ in $(seq 100); do grep -q 'restarting in 4s' "$d/babysitter.log" && break; sleep 0.1; done
t_expect "restart delay doubles (1s, 2s, 4s)" 'in 1s.*in 2s.*in 4s' \
  bash -c "grep 'exited with status 2' '$d/babysitter.log' | tr '\n' ' '"
t_expect_fail --exit=1 "status while the babysitter waits exits 1" 'not running; its babysitter' initd status
t_expect "stop ends a waiting babysitter" '^Stopped hypervisor$' initd stop
t_check "babysitter gone" fails running "$(pidof_file hypervisor-babysitter.pid)"
