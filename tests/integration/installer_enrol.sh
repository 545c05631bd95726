#!/usr/bin/env bash
# timeout: 240
# shellcheck shell=bash
# The enrolment of a newborn machine (docs/enrolment.md) with the real installer (dry
# run, -skipStorage -skipNetwork, on loopback) and enrol-testc in hyper-control's part:
# /tftpdata holds CA.pem, IdentityCA.pem and enrol-token but no key; enrol-testc gets
# the CSR, checks its Mac and the TLS key, signs it with the fleet CA for the machine's
# name and address and sends it back; the installer continues past step "enrol" with a
# certificate for its own key, chained to CA.pem, usable as server and client, key 0600.
# Refused, each while the installer keeps waiting: a client with the wrong token (its
# own check), a certificate Mac made with another token, a certificate for another key,
# a certificate from another CA, a man in the middle whose TLS key is not the CSR's
# (the client refuses); and a second SetCertificates after the first succeeded.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require openssl "certificates are made at test time"
t_require python3 "free ports and the man-in-the-middle proxy"
t_require curl "the status page shows the enrolment"

inst=$SS_BIN/installer
etc=$SS_BIN/enrol-testc
[ -x "$inst" ] || { t_skip "enrolment" "$inst missing (make)"; exit 0; }
d=$(mktemp -d "/tmp/${SS_ID}-enrol.XXXXXX")
t_cleanup rm -rf "$d"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
note() { "$@" 2>&1 | sed 's/^/# /'; }

if ! srpc_ca "$d" CA || ! srpc_ca "$d" IdentityCA || ! srpc_ca "$d" OtherCA ||
  ! srpc_cert "$d" op CA operator || ! srpc_cert "$d" stranger OtherCA mallory; then
  t_fail "make certificates"
  exit 0
fi
host=m1.example.net
cfg=$d/tftpdata
mkdir -p "$cfg"
cat >"$cfg/config.json" <<EOF
{"Machine": {"Hostname": "$host", "HostIpAddress": "127.0.0.1",
             "HostMacAddress": "52:54:00:12:34:56", "IPMI": {}},
 "Subnets": [{"Id": "lo", "IpGateway": "127.0.0.254", "IpMask": "255.0.0.0",
              "DomainNameServers": ["127.0.0.53"], "Manage": true}]}
EOF
echo "smallstack/hypervisor" >"$cfg/imagename"
echo "localhost:1" >"$cfg/imageserver"
cp "$d/CA.pem" "$d/IdentityCA.pem" "$cfg/"
openssl rand -hex 32 >"$cfg/enrol-token"
token=$(tr -d '\n' <"$cfg/enrol-token")
wrong=$(openssl rand -hex 32)

# start_installer NAME [FLAGS...]: the installer in its own work directory, waiting in
# step "enrol"; sets port and ipid.
start_installer() {
  local name=$1
  shift
  port=$(free_port)
  mkdir -p "$d/$name/work" "$d/$name/log"
  "$inst" -tftpDirectory="$cfg" -workDirectory="$d/$name/work" -logDir="$d/$name/log" \
    -dryRun -skipStorage -skipNetwork -consoleShell=false -portNum="$port" "$@" \
    >"$d/$name/out" 2>&1 &
  ipid=$!
  t_cleanup kill "$ipid"
  for _ in $(seq 100); do
    grep -q 'installer: step enrol: begin' "$d/$name/out" && grep -q 'waiting for Installer' "$d/$name/out" && return 0
    kill -0 "$ipid" 2>/dev/null || break
    sleep 0.1
  done
  sed 's/^/# /' "$d/$name/out"
  return 1
}

# enrol [FLAGS...]: enrol-testc as hyper-control would call it, extra flags last.
enrol() {
  "$etc" -address="127.0.0.1:$port" -token="$token" -hostname="$host" -ip=127.0.0.1 \
    -caCert="$d/CA.pem" -caKey="$d/CA.key" -identityCaFile="$d/IdentityCA.pem" \
    -certFile="$d/op.cert" -keyFile="$d/op.key" -timeout=20 "$@"
}
still_waiting() { ! grep -q 'step enrol: done' "$d/$1/out" && kill -0 "$ipid" 2>/dev/null; }

# --- refusals, then a good enrolment, then a second SetCertificates ---
if ! start_installer a; then t_fail "installer waits in step enrol"; exit 0; fi
t_ok "installer waits in step enrol (no key in /tftpdata, an enrol-token)"
t_expect "status page: waiting for a client" 'waiting for a client' curl -sS "http://127.0.0.1:$port/"

t_expect_fail --exit=2 "enrol-testc: usage" 'usage' "$etc" -address=x
t_expect_fail --exit=1 "client refuses a CSR whose Mac is not by its token" \
  'Mac of the certificate request is wrong' enrol -token="$wrong"
t_expect_fail --exit=1 "installer refuses a certificate Mac made with another token" \
  'installer refused: .*Mac' enrol -setMacToken="$wrong"
t_expect_fail --exit=1 "installer refuses a certificate for another key" \
  'installer refused: .*key' enrol -otherKey
t_expect_fail --exit=1 "installer refuses a certificate from another CA" \
  'installer refused: .*(verify|issuer|chain|CA)' enrol -caCert="$d/OtherCA.pem" -caKey="$d/OtherCA.key" -caFile="$d/CA.pem"
t_expect_fail --exit=1 "installer refuses a client without a fleet certificate" \
  'certificate|handshake' enrol -certFile="$d/stranger.cert" -keyFile="$d/stranger.key"
note enrol -certFile="$d/stranger.cert" -keyFile="$d/stranger.key"
t_expect_fail --exit=1 "signer refuses a CSR for another host name" \
  'expected "m2.example.net"|installer says it is' enrol -hostname=m2.example.net

# A man in the middle: relays the CONNECT and the calls with its own TLS key on the
# client's side (and a fleet client certificate towards the installer). The CSR and its
# Mac are the real installer's, the TLS key is not the CSR's.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/mitm.key" \
  -out "$d/mitm.pem" -days 1 -subj "/CN=$host" 2>/dev/null
cat >"$d/mitm.py" <<'EOF'
import socket, ssl, sys, threading
lport, up, cert, key, ccert, ckey = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:7]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport))
ls.listen(1)
print("ready", flush=True)
ls.settimeout(30)
c, _ = ls.accept()
def head(s):
    b = b""
    while not (b.endswith(b"\n\n") or b.endswith(b"\r\n\r\n")):
        x = s.recv(1)
        if not x:
            raise SystemExit("closed")
        b += x
    return b
req = head(c)
u = socket.create_connection(("127.0.0.1", up))
u.sendall(req)
c.sendall(head(u))
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(cert, key)
cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cctx.check_hostname = False
cctx.verify_mode = ssl.CERT_NONE
cctx.load_cert_chain(ccert, ckey)
cs = sctx.wrap_socket(c, server_side=True)
us = cctx.wrap_socket(u)
print("relaying", flush=True)
def pump(a, b):
    try:
        while True:
            x = a.recv(65536)
            if not x:
                break
            b.sendall(x)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
t = threading.Thread(target=pump, args=(us, cs), daemon=True)
t.start()
pump(cs, us)
t.join(5)
EOF
mport=$(free_port)
python3 "$d/mitm.py" "$mport" "$port" "$d/mitm.pem" "$d/mitm.key" "$d/op.cert" "$d/op.key" \
  >"$d/mitm.out" 2>&1 &
mpid=$!
t_cleanup kill "$mpid"
for _ in $(seq 50); do grep -q ready "$d/mitm.out" && break; sleep 0.1; done
t_expect_fail --exit=1 "client refuses a man in the middle (TLS key is not the CSR's)" \
  "not for the key of the installer's TLS server" \
  "$etc" -address="127.0.0.1:$mport" -token="$token" -hostname="$host" -ip=127.0.0.1 \
  -caCert="$d/CA.pem" -caKey="$d/CA.key" -certFile="$d/op.cert" -keyFile="$d/op.key" -timeout=20
if grep -q relaying "$d/mitm.out"; then
  t_ok "the man in the middle relayed the call (the refusal is the key check's)"
else
  t_fail "the man in the middle relayed the call" "$(tr '\n' ' ' <"$d/mitm.out")"
fi
wait "$mpid" 2>/dev/null

if still_waiting a; then
  t_ok "after every refusal the installer still waits in step enrol"
else
  t_fail "after every refusal the installer still waits in step enrol" "$(tail -5 "$d/a/out" | tr '\n' ' ')"
fi
note grep enrolment: "$d/a/out"

t_expect_fail --exit=1 "a second SetCertificates after the first succeeded is refused" \
  'first SetCertificates was accepted.*|installer refused' enrol -setTwice
note cat "$d/a/out"
for _ in $(seq 50); do grep -q 'step enrol: done' "$d/a/out" && break; sleep 0.1; done
t_expect "installer goes on past step enrol" 'installer: step enrol: done' cat "$d/a/out"
t_expect "status page: enrolled" 'enrolled' curl -sS "http://127.0.0.1:$port/"
t_expect_fail --exit=1 "GetCertificateRequest after the enrolment is refused" \
  'installer refused|not waiting' enrol
kill "$ipid" 2>/dev/null
wait "$ipid" 2>/dev/null

# --- the straight path (test mode: the dry run exits after success) ---
if ! start_installer b -testMode; then t_fail "installer b waits in step enrol"; exit 0; fi
t_expect "enrol-testc enrols the machine" "^enrolled $host: certificate serial" enrol
for _ in $(seq 100); do kill -0 "$ipid" 2>/dev/null || break; sleep 0.1; done
if wait "$ipid"; then t_ok "installer b exits 0 after the enrolment (test mode)"; else t_fail "installer b exits 0" "$(tail -5 "$d/b/out" | tr '\n' ' ')"; fi
t_expect "installer b: enrol done, install complete" 'installer: install complete' \
  grep -E 'step enrol: done|install complete' "$d/b/out"
w=$d/b/work
t_expect "the certificate chains to CA.pem as a TLS server" "OK" \
  openssl verify -CAfile "$d/CA.pem" -purpose sslserver "$w/cert.pem"
t_expect "the certificate chains to CA.pem as a TLS client" "OK" \
  openssl verify -CAfile "$d/CA.pem" -purpose sslclient "$w/cert.pem"
t_expect "the certificate names the machine (CN, DNS and IP SANs)" \
  "DNS:$host, IP Address:127.0.0.1" openssl x509 -in "$w/cert.pem" -noout -ext subjectAltName -subject
if openssl x509 -in "$w/cert.pem" -noout -text | grep -q '1.3.6.1.4.1.9586.100.7.1'; then
  t_fail "the certificate carries no method grants"
else
  t_ok "the certificate carries no method grants"
fi
ck=$(openssl x509 -in "$w/cert.pem" -noout -pubkey 2>/dev/null | sha256sum)
kk=$(openssl pkey -in "$w/key.pem" -pubout 2>/dev/null | sha256sum)
if [ -n "$ck" ] && [ "$ck" = "$kk" ]; then t_ok "cert.pem is for key.pem"; else t_fail "cert.pem is for key.pem"; fi
t_expect "key.pem is mode 0600" '^600$' stat -c %a "$w/key.pem"
sk=$(openssl x509 -in "$w/self-cert.pem" -noout -pubkey 2>/dev/null | sha256sum)
if [ "$sk" = "$kk" ]; then t_ok "the port's self-signed certificate was for the same key"; else t_fail "the port's self-signed certificate was for the same key"; fi
if grep -rqs "$token" "$d/a/out" "$d/b/out" "$d/a/log" "$d/b/log" "$w"; then
  t_fail "the token is in no log and no work file"
else
  t_ok "the token is in no log and no work file"
fi
