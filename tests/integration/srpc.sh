#!/usr/bin/env bash
# timeout: 240
# SRPC over TLS on loopback: a real server (srpc-testd) and clients (srpc-testc,
# openssl s_client, curl, raw sockets) with certificates made now by openssl.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"
t_require curl "the HTTP side is read with curl"

d=$(mktemp -d "/tmp/${SS_ID}-srpc.XXXXXX")
t_cleanup rm -rf "$d"

# --- certificates ---
if ! { srpc_ca "$d" CA && srpc_ca "$d" IdentityCA && srpc_ca "$d" OtherCA; }; then
  t_fail "make CAs"
  exit 0
fi
srpc_cert "$d" server CA srv san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" admin CA alice grants=Test.Echo,Test.Stream,Test.Big groups=ops
srpc_cert "$d" other CA oscar grants=Other.Method
srpc_cert "$d" ident IdentityCA bob grants='*.*' groups=staff
srpc_cert "$d" owner IdentityCA olga
srpc_cert "$d" trusted IdentityCA tom
srpc_cert "$d" bmp CA dave grants='Test.E*' type=BMP
srpc_cert "$d" nodot CA eve grants=NoDotHere
srpc_cert "$d" stranger OtherCA mallory grants='*.*'
srpc_cert "$d" expired CA carol grants='*.*' start=20200101000000Z end=20200102000000Z
srpc_cert "$d" future CA fred grants='*.*' start=20990101000000Z end=20990102000000Z
srpc_cert "$d" rogue OtherCA srv san=DNS:localhost,IP:127.0.0.1

start_testd() { # BIN PORTFILE LOG [flags...] -> sets testd_pid
  local bin=$1 pf=$2 log=$3 i
  shift 3
  "$bin/srpc-testd" -certFile="$d/server.cert" -keyFile="$d/server.key" -CAfile="$d/CA.pem" \
    -portFile="$pf" "$@" >"$log" 2>&1 &
  testd_pid=$!
  t_cleanup kill "$testd_pid"
  for i in $(seq 100); do [ -s "$pf" ] && return 0; sleep 0.05; done
  return 1
}

start_testd "$SS_BIN" "$d/port" "$d/testd.log" -identityCAfile="$d/IdentityCA.pem" \
  -maxMessage=4M -owners=olga -srpcTrustedUsers=tom ||
  { t_fail "srpc-testd starts" "$(cat "$d/testd.log")"; exit 0; }
main_pid=$testd_pid
port=$(cat "$d/port")
addr=127.0.0.1:$port

c() { # CERTNAME (or -) ARGS...: srpc-testc against the main server, verifying it
  local cert=$1
  shift
  if [ "$cert" = - ]; then
    "$SS_BIN/srpc-testc" -addr="$addr" -CAfile="$d/CA.pem" -timeout=10s "$@"
  else
    "$SS_BIN/srpc-testc" -addr="$addr" -CAfile="$d/CA.pem" -timeout=10s \
      -certFile="$d/$cert.cert" -keyFile="$d/$cert.key" "$@"
  fi
}

# --- authorisation ---
t_expect "granted call succeeds" '^\{"A":1,"B":"x"\}$' c admin call Test.Echo '{"A":1,"B":"x"}'
t_expect "CA.pem identity carries user, groups and grants" \
  '"Username":"alice","Groups":\["ops"\],"Grants":\["Test.Echo","Test.Stream","Test.Big"\],"IsAdmin":false' \
  c admin call Test.Public
t_expect "IdentityCA cert: identity kept, grants ignored" \
  '"Username":"bob","Groups":\["staff"\],"Grants":\[\]' c ident call Test.Public
t_expect_fail "IdentityCA cert refused for a method needing a grant" \
  'Test.Echo: access to method denied' c ident call Test.Echo '{}'
t_expect_fail "grant for another method refused" 'access to method denied' c other call Test.Echo '{}'
t_expect "BMPString glob grant Test.E* allows Test.Echo" '^\{"Z":2\}$' c bmp call Test.Echo '{"Z":2}'
t_expect_fail "glob grant Test.E* does not allow Test.Stream" 'access to method denied' \
  c bmp stream 1 1
t_expect "service hook (owner) grants Test.Echo" '^\{"O":1\}$' c owner call Test.Echo '{"O":1}'
t_expect_fail "service hook (owner) does not grant Test.Stream" 'access to method denied' \
  c owner stream 1 1
t_expect "trusted user gets every method" '^stream ok' c trusted stream 1 1
t_expect_fail "doNotUseMethodPowers drops the grant" 'access to method denied' \
  c admin -noMethodPowers call Test.Echo '{}'
t_expect "doNotUseMethodPowers keeps public methods" '"IsAdmin":false,.*"MethodPowers":false' \
  c admin -noMethodPowers call Test.Public
t_expect "loopback-only method from loopback" '"Loopback":true' c admin call Test.Loopback
t_expect_fail "RR handler error keeps the connection" 'Test.Fail: it failed on purpose' c admin call Test.Fail
t_expect_fail "unknown service" 'unknown service: Nope' c admin call Nope.Method
t_expect_fail "unknown method" 'Test: unknown method: Nope' c admin call Test.Nope
t_expect_fail "malformed method line" 'malformed Service.Method: a.b.c' c admin call a.b.c
t_expect_fail ".LocalUpgradeToUnix is rejected so Go clients stay on TCP" 'unknown service: $' \
  c admin call .LocalUpgradeToUnix
t_expect "empty line ping answered" '^pong$' c admin ping
out=$(printf 'Test.Echo {"A":1}\nTest.Fail\nTest.Echo {"Error":"bad"}\nTest.Echo\n' | c admin script 2>&1)
rc=$?
t_expect "script: calls counted per method" '^CALLS Test.Echo 2 1$' echo "$out"
t_expect "script: an error line is reported, later calls still made" 'ERR Test.Fail: .*it failed on purpose' echo "$out"
t_expect "script: a response with a non-empty Error is a failure" 'ERR Test.Echo: Error: bad' echo "$out"
t_expect "script exits 1 after a failed call" '^1$' echo "$rc"

# --- refusals during the handshake ---
t_expect_fail "no client certificate refused" 'certificate required|handshake failure' \
  c - call Test.Public
t_expect_fail "cert of a CA the server does not name is not sent" 'certificate required' \
  c stranger call Test.Public
t_expect_fail "client refuses to load an expired certificate" 'expired.cert has expired' \
  c expired call Test.Public
t_expect_fail "client refuses a not-yet-valid certificate" 'future.cert is not yet valid' \
  c future call Test.Public
t_expect_fail "grant without exactly one dot: connection dropped" 'connection closed|reset' \
  c nodot call Test.Public
t_expect_fail "plain endpoint while TLS is required: 405" 'missing certificate' \
  "$SS_BIN/srpc-testc" -addr="$addr" -plain call Test.Unauth

sclient() { # ARGS...: openssl s_client through our CONNECT (the port suffix lands in the query)
  timeout 10 openssl s_client -proxy "$addr" -connect '/_SRPC_/TLS/JSON?s=:1' "$@"
}
sclient_wait() { # ARGS...: s_client that stays long enough to read the server's alert
  sleep 1 | sclient "$@" 2>&1
}
t_expect_fail "server refuses an expired certificate (openssl s_client)" 'alert certificate expired' \
  sclient_wait -cert "$d/expired.cert" -key "$d/expired.key" -CAfile "$d/CA.pem"
t_expect_fail "server refuses a certificate from an unknown CA (openssl s_client)" 'alert unknown ca' \
  sclient_wait -cert "$d/stranger.cert" -key "$d/stranger.key" -CAfile "$d/CA.pem"
t_expect "openssl s_client: CONNECT + TLS + a call" '"Username":"alice"' \
  bash -c "(printf 'Test.Public\n'; sleep 0.5; printf '{}\n'; sleep 0.5) |
    timeout 10 openssl s_client -quiet -no_ign_eof -proxy '$addr' -connect '/_SRPC_/TLS/JSON?s=:1' \
      -cert '$d/admin.cert' -key '$d/admin.key' -CAfile '$d/CA.pem' -verify_return_error \
      -servername localhost"
t_expect_fail "TLS 1.1 offered is refused" 'alert protocol version' \
  sclient -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -cert "$d/admin.cert" -key "$d/admin.key" </dev/null
t_expect "acceptable CA list names CA and IdentityCA" 'Acceptable client certificate CA names.*CN = CA.*CN = IdentityCA' \
  bash -c "sclient() { timeout 10 openssl s_client -proxy '$addr' -connect '/_SRPC_/TLS/JSON?s=:1' \"\$@\"; }
    sclient -cert '$d/admin.cert' -key '$d/admin.key' </dev/null 2>&1 | tr '\n' ' '"

# --- the client verifies the server (weaknesses.md #1) ---
t_expect_fail "client refuses a server cert not signed by its CA, naming the host" \
  'x509: certificate for host 127.0.0.1 not trusted' \
  "$SS_BIN/srpc-testc" -addr="$addr" -CAfile="$d/OtherCA.pem" \
  -certFile="$d/admin.cert" -keyFile="$d/admin.key" call Test.Public
t_expect_fail "client refuses a server cert for another name" 'not valid for host wrong.example' \
  c admin -serverName=wrong.example call Test.Public
t_expect "server name verified by DNS name" '"Username":"alice"' c admin -serverName=localhost call Test.Public
t_expect "insecure mode skips verification" '"Username":"alice"' \
  "$SS_BIN/srpc-testc" -addr="$addr" -insecure -certFile="$d/admin.cert" \
  -keyFile="$d/admin.key" call Test.Public

# The client presents the certificate issued by a CA the server names (§10.3).
mkdir -p "$d/dir"
cp "$d/stranger.cert" "$d/dir/a.cert" && cp "$d/stranger.key" "$d/dir/a.key"
cp "$d/admin.cert" "$d/dir/b.cert" && cp "$d/admin.key" "$d/dir/b.key"
t_expect "cert directory: certificate chosen by the server's CA list" '"Username":"alice"' \
  "$SS_BIN/srpc-testc" -addr="$addr" -CAfile="$d/CA.pem" -certDirectory="$d/dir" call Test.Public

# --- streaming and message limits ---
t_expect "stream: 1000 messages in order + 1 MiB raw each way" \
  '^stream ok: 1000 messages, 1048576 raw' c admin stream 1000 1048576
t_expect "1 MiB message accepted" '^Length 1048576$' c admin big 1048576

# RSS check on the plain build (ASan's allocator would blur the figure).
rss_bin=$SS_NORMAL_BIN
[ -x "$rss_bin/srpc-testd" ] || rss_bin=$SS_BIN
if start_testd "$rss_bin" "$d/port2" "$d/testd2.log" -maxMessage=4M; then
  pid2=$testd_pid
  port2=$(cat "$d/port2")
  "$rss_bin/srpc-testc" -addr=127.0.0.1:"$port2" -CAfile="$d/CA.pem" \
    -certFile="$d/admin.cert" -keyFile="$d/admin.key" call Test.Echo '{}' >/dev/null
  rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$pid2/status")
  out=$("$rss_bin/srpc-testc" -addr=127.0.0.1:"$port2" -CAfile="$d/CA.pem" \
    -certFile="$d/admin.cert" -keyFile="$d/admin.key" big 67108864 2>&1)
  rc=$?
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid2/status")
  if [ "$rc" -ne 0 ] && grep -qE 'larger than|reset|closed|Broken pipe' <<<"$out"; then
    t_ok "64 MiB message refused ($(tail -1 <<<"$out"))"
  else
    t_fail "64 MiB message refused" "rc=$rc $out"
  fi
  # limit 4 MiB: the peak may grow by the buffer (<= 4 MiB + 1) and some slack, never 64 MiB.
  if [ -n "$rss0" ] && [ -n "$hwm" ] && [ $((hwm - rss0)) -lt $((16 * 1024)) ]; then
    t_ok "server memory stayed bounded (VmRSS before ${rss0} kB, VmHWM after ${hwm} kB)"
  else
    t_fail "server memory stayed bounded" "VmRSS before ${rss0:-?} kB, VmHWM after ${hwm:-?} kB"
  fi
  t_expect "server still serves after the refusal" '^\{\}$' "$rss_bin/srpc-testc" \
    -addr=127.0.0.1:"$port2" -CAfile="$d/CA.pem" -certFile="$d/admin.cert" \
    -keyFile="$d/admin.key" call Test.Echo '{}'
  kill "$pid2"
else
  t_fail "second srpc-testd starts" "$(cat "$d/testd2.log")"
fi

# --- servers without TLS requirement / with unauthenticated reads ---
if start_testd "$SS_BIN" "$d/port3" "$d/testd3.log" -identityCAfile="$d/IdentityCA.pem" \
  -allowUnauthenticatedReads; then
  a3=127.0.0.1:$(cat "$d/port3")
  t_expect "allowUnauthenticatedReads: plain endpoint serves an unauthenticated method" \
    '"Username":"","Groups":\[\],"Grants":\[\],"IsAdmin":false,"Tls":false' \
    "$SS_BIN/srpc-testc" -addr="$a3" -plain call Test.Unauth
  t_expect_fail "allowUnauthenticatedReads: public method needs a username" 'access to method denied' \
    "$SS_BIN/srpc-testc" -addr="$a3" -plain call Test.Public
  t_expect_fail "allowUnauthenticatedReads: admin method refused" 'access to method denied' \
    "$SS_BIN/srpc-testc" -addr="$a3" -plain call Test.Echo '{}'
  kill "$testd_pid"
else
  t_fail "srpc-testd -allowUnauthenticatedReads starts" "$(cat "$d/testd3.log")"
fi
if start_testd "$SS_BIN" "$d/port4" "$d/testd4.log" -plain; then
  a4=127.0.0.1:$(cat "$d/port4")
  t_expect_fail "server without TLS: TLS endpoint answers 404 (no SRPC endpoint)" \
    "$a4: no SRPC endpoint" "$SS_BIN/srpc-testc" -addr="$a4" -CAfile="$d/CA.pem" \
    -certFile="$d/admin.cert" -keyFile="$d/admin.key" call Test.Public
  t_expect "server without TLS: plain callers have method powers" '^\{"P":1\}$' \
    "$SS_BIN/srpc-testc" -addr="$a4" -plain call Test.Echo '{"P":1}'
  kill "$testd_pid"
else
  t_fail "srpc-testd -plain starts" "$(cat "$d/testd4.log")"
fi

# --- connection limit and handshake deadline ---
if start_testd "$SS_BIN" "$d/port5" "$d/testd5.log" -maxConns=2 -handshakeTimeout=1s; then
  p5=$(cat "$d/port5")
  hold() { # FD: a tunnel that never starts TLS
    eval "exec $1<>/dev/tcp/127.0.0.1/$p5"
    printf 'CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n' >&"$1"
    timeout 5 head -n 1 <&"$1" >/dev/null
  }
  hold 5 && hold 6
  t_expect "connections past the limit get 503" '^HTTP/1\.0 503' \
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$p5; printf 'CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n' >&3; timeout 5 head -n 1 <&3"
  # Both held tunnels must be closed by the server once the 1 s handshake deadline passes.
  start=$(date +%s%N)
  timeout 10 cat <&5 >/dev/null
  timeout 10 cat <&6 >/dev/null
  ms=$((($(date +%s%N) - start) / 1000000))
  exec 5<&- 6<&-
  if [ "$ms" -lt 5000 ]; then
    t_ok "silent tunnel closed at the handshake deadline (${ms} ms)"
  else
    t_fail "silent tunnel closed at the handshake deadline" "still open after ${ms} ms"
  fi
  # The server frees a slot when the connection's thread ends, just after the close.
  again() {
    local i out
    for i in 1 2 3 4 5 6 7 8 9 10; do
      out=$("$SS_BIN/srpc-testc" -addr=127.0.0.1:"$p5" -CAfile="$d/CA.pem" \
        -certFile="$d/admin.cert" -keyFile="$d/admin.key" call Test.Public 2>&1) && break
      sleep 0.5
    done
    echo "$out"
  }
  t_expect "calls work again once the held tunnels are gone" '"Username":"alice"' again
  kill "$testd_pid"
else
  t_fail "srpc-testd -maxConns starts" "$(cat "$d/testd5.log")"
fi

# --- the HTTP side of the same port ---
t_expect "plain HTTP page without a certificate" '^srpc-testd page$' curl -fsS "http://$addr/"
t_expect "listMethods: .LocalUpgradeToUnix first, sorted" \
  '^\.LocalUpgradeToUnix Test\.Big Test\.Echo Test\.Fail Test\.Loopback Test\.Public Test\.Stream Test\.Unauth $' \
  bash -c "curl -fsS 'http://$addr/_goSRPC_/listMethods' | tr '\n' ' '"
t_expect "listPublicMethods" '^Test\.Big Test\.Fail Test\.Loopback Test\.Public $' \
  bash -c "curl -fsS 'http://$addr/_goSRPC_/listPublicMethods' | tr '\n' ' '"
t_expect "getHostname" '^srpc-testd\.example$' curl -fsS "http://$addr/_goSRPC_/getHostname"

raw_connect() { # REQUEST: sends it on a raw socket, prints the answer's first line
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%b' "$1" >&3
  timeout 5 head -n 1 <&3
  exec 3<&-
}
t_expect "CONNECT to the gob TLS path: 404" '^HTTP/1\.0 404 Not Found' raw_connect 'CONNECT /_go_TLS_SRPC_/ HTTP/1.0\n\n'
t_expect "CONNECT to the gob plain path: 404" '^HTTP/1\.0 404 Not Found' raw_connect 'CONNECT /_goSRPC_/ HTTP/1.0\n\n'
t_expect "CONNECT to an unknown path: 404" '^HTTP/1\.0 404 Not Found' raw_connect 'CONNECT /nope HTTP/1.0\r\n\r\n'
t_expect "CONNECT with a bad query: 400" '^HTTP/1\.0 400' raw_connect 'CONNECT /_SRPC_/TLS/JSON?a=%zz HTTP/1.0\n\n'
t_expect "CONNECT accepted: exact 200 line" '^HTTP/1\.0 200 Connected to Go SRPC$' raw_connect 'CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n'
t_expect "GET on a gob path: 404" '^404$' \
  curl -s -o /dev/null -w '%{http_code}' "http://$addr/_goSRPC_/"
t_expect "GET on the tunnel path: 400" '^400$' \
  curl -s -o /dev/null -w '%{http_code}' "http://$addr/_SRPC_/TLS/JSON"

if kill -0 "$main_pid" 2>/dev/null; then t_ok "server survived every case"; else t_fail "server survived every case" "$(tail -5 "$d/testd.log")"; fi
