#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/srpc/ from real sessions: srpc-testc talks to a
# plain srpc-testd through a socat relay that records both directions. Needs a built
# tree (make) and socat. Usage: bash tests/fuzz/seeds/srpc.sh
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$top/tests/fuzz/corpus/srpc
bin=$top/build/bin
tmp=$(mktemp -d /tmp/fuzzseed.XXXXXX)
trap 'jobs -p | xargs -r kill 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$out"

"$bin/srpc-testd" -plain -allowUnauthenticatedReads -portFile "$tmp/port" &
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")

# capture NAME CLIENT-ARGS...: one client session, recorded as S (client bytes) and
# A (server answer) seeds.
capture() {
  local name=$1 rport
  shift
  rport=$((20000 + RANDOM % 20000))
  socat -r "$tmp/c2s" -R "$tmp/s2c" "TCP-LISTEN:$rport,bind=127.0.0.1,reuseaddr" \
    "TCP:127.0.0.1:$port" &
  for _ in $(seq 50); do ss -ltn | grep -q ":$rport " && break; sleep 0.1; done
  "$bin/srpc-testc" -plain -addr "127.0.0.1:$rport" "$@" >/dev/null || true
  wait $!
  { printf S; cat "$tmp/c2s"; } >"$out/S-$name"
  { printf A; cat "$tmp/s2c"; } >"$out/A-$name"
  rm -f "$tmp/c2s" "$tmp/s2c"
}

capture echo call Test.Echo '{"Name":"x","List":[1,2.5,true,null],"Nested":{"a":"\u00e9"}}'
capture unauth call Test.Unauth '{"A":1}'
capture fail call Test.Fail '{}'
capture nopowers -noMethodPowers call Test.Echo '{"B":"c"}'
capture ping ping
capture stream stream 3 100
capture big big 9000
capture unknown call Nope.Method '{}'

# The CONNECT header alone, method lines and messages from the sessions above.
sed -n '1,/^\r\{0,1\}$/p' "$out/S-echo" | sed '1s/^S/R/' >"$out/R-connect"
printf 'RCONNECT /_SRPC_/TLS/JSON?doNotUseMethodPowers=true&a=%%7a HTTP/1.0\r\n\r\n' >"$out/R-query"
printf 'RCONNECT /_goSRPC_/ HTTP/1.0\n\n' >"$out/R-gob"
printf 'MTest.Echo\n' >"$out/M-echo"
printf 'M \t\r\n' >"$out/M-ping"
printf 'F{"Count":3,"RawSize":100}\n' >"$out/F-stream"
printf 'F"str\\"ing" 12' >"$out/F-scalar"
printf 'F[{"a":[1,{"b":"}"}]},-1.5e3,true,null]\n{}' >"$out/F-nested"
printf 'HGET /_goSRPC_/listMethods' >"$out/H-list"
printf 'HGET /_goSRPC_/listPublicMethods' >"$out/H-public"
printf 'HHEAD /_goSRPC_/getHostname' >"$out/H-host"
printf 'HPOST /_SRPC_/TLS/JSON?x=1' >"$out/H-post"
find "$out" -type f | wc -l
