#!/usr/bin/env bash
# SRPC throughput on loopback with mutual TLS (plain build, build/bin):
#   rr:   Test.Echo calls per second over one connection
#   conn: new connections per second (TCP + CONNECT + TLS handshake + one call)
# Peer for the connection figure: openssl s_server + s_time doing the same mutual-TLS
# handshake without CONNECT and without a call (OpenSSL's own best case).
# Usage: bench/srpc/run.sh [RR_CALLS] [CONNS]    (make first)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SS_NORMAL_BIN:-$top/build/bin}
rr=${1:-20000}
conns=${2:-500}
. "$top/tests/lib/srpc.sh"
[ -x "$bin/srpc-testd" ] || { echo "build first: make" >&2; exit 2; }

d=$(mktemp -d "/tmp/ss$$-srpcbench.XXXXXX")
pid="" spid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  rm -rf "$d"
}
trap cleanup EXIT

srpc_ca "$d" CA
srpc_cert "$d" server CA srv san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" admin CA bench grants='Test.*'
"$bin/srpc-testd" -certFile="$d/server.cert" -keyFile="$d/server.key" -CAfile="$d/CA.pem" \
  -portFile="$d/port" >"$d/testd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$d/port" ] && break; sleep 0.05; done
c=("$bin/srpc-testc" -addr="127.0.0.1:$(cat "$d/port")" -CAfile="$d/CA.pem"
  -certFile="$d/admin.cert" -keyFile="$d/admin.key")

echo "srpc bench: $(nproc) CPUs, $(openssl version | cut -d' ' -f1-2), EC P-256 certificates, TLS 1.3"
"${c[@]}" bench-rr 200 >/dev/null # warm-up
"${c[@]}" bench-rr "$rr"
"${c[@]}" bench-conn "$conns"
echo "server VmHWM: $(awk '/^VmHWM/ {print $2, $3}' "/proc/$pid/status")"

# Peer: openssl's own server and handshake timer, same certificates.
sport=$((20000 + $$ % 20000))
openssl s_server -accept "$sport" -cert "$d/server.cert" -key "$d/server.key" \
  -CAfile "$d/CA.pem" -Verify 1 -www -quiet >/dev/null 2>&1 &
spid=$!
sleep 0.5
openssl s_time -connect "127.0.0.1:$sport" -new -time 3 -cert "$d/admin.cert" \
  -key "$d/admin.key" -CAfile "$d/CA.pem" 2>/dev/null |
  awk '/connections in [0-9]+ real/ {printf "peer openssl s_server/s_time: %d handshakes in %d s = %.0f conns/s\n", $1, $4, $1 / $4}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare figures from one run only)"
