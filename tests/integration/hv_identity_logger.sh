#!/usr/bin/env bash
# timeout: 240
# Against libvirt's test driver: ReplaceVmCredentials (the pair is checked as the
# original does: key matches, valid now, not the caller's own identity; stored where
# CreateVm stores it, so the metadata server serves the new certificate to a stand-in
# guest on the VM's tap), ReplaceVmIdentity (an empty certificate erases the identity;
# a requestor certificate needs an identity provider), CreateVm with an identity, and
# the Logger service (SetDebugLevel, Debug, Print, GetStackTrace, Watch, wire form of
# lib/log/serverlogger), each with its refusals.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "the daemon's /healthz is fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require python3 "certificates with odd validity periods are made with python3"

# rpc CERTDIR[/NAME] METHOD [JSON]: hyper.sh's rpc, also with a certificate named
# differently from its directory (logadmin, in admin/).
rpc() {
	local who=$1 dir name
	shift
	dir=${who%%/*} name=${who##*/}
	hv_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -serverName=localhost \
		-certFile="$C/$dir/$name.cert" -keyFile="$C/$dir/$name.key" -CAfile="$C/ca/ca.pem" \
		-timeout=30s call "$@"
}

BR=${SS_ID}br
hv_setup "$BR" 10.107.0.1/24 || exit 0
_hv_cert "$C/admin" logadmin logadmin "$C/ca" 'Logger.*' || t_fail "logadmin certificate"

# Identities for the VM: vm-role (valid), alice (the caller's own name), and through
# python's cryptography an expired and a not yet valid one. ID=their directory.
ID=$HV_DIR/ids
mkdir -p "$ID"
if ! { _hv_cert "$ID" role vm-role "$C/otherca" && _hv_cert "$ID" role2 vm-role2 "$C/otherca" &&
	_hv_cert "$ID" self alice "$C/otherca"; }; then
	t_fail "identity certificates"
fi
python3 - "$ID" <<'PY' || t_fail "expired identity certificates"
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
d, now = sys.argv[1], datetime.datetime.now(datetime.timezone.utc)
for name, start, end in (("old", now - datetime.timedelta(days=3), now - datetime.timedelta(hours=2)),
                         ("future", now + datetime.timedelta(hours=5), now + datetime.timedelta(days=3))):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vm-" + name)])
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end).sign(key, hashes.SHA256()))
    open(f"{d}/{name}.cert", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(f"{d}/{name}.key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY

hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts"
rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"i","IpGateway":"10.107.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.107.0.1"]}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.107.0.10","MacAddress":"52:54:00:6b:00:0a"},{"IpAddress":"10.107.0.11","MacAddress":"52:54:00:6b:00:0b"},{"IpAddress":"10.107.0.12","MacAddress":"52:54:00:6b:00:0c"}]}' >/dev/null
create() { vmc "$@" -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=i create-vm 2>&1 | tail -1; }
VA=$(create user -vmTags=Name=alice-vm)
VB=$(create admin -vmTags=Name=admin-vm)
if [[ $VA =~ ^10\.107\.0\.1[0-2]$ && $VB =~ ^10\.107\.0\.1[0-2]$ ]]; then
	t_ok "alice and the admin each create a VM"
else
	t_fail "alice and the admin each create a VM" "alice: $VA admin: $VB"
	exit 0
fi
info() { rpc admin Hypervisor.GetVmInfo "{\"IpAddress\":\"$1\"}"; }
notafter() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ; }

# ---- ReplaceVmCredentials ----
creds() { # WHO VM NAME [KEYNAME]
	vmc "$1" -identityCertFile="$ID/$3.cert" -identityKeyFile="$ID/${4:-$3}.key" \
		replace-vm-credentials "$2"
}
t_check "alice replaces her VM's credentials with vm-role's" creds user "$VA" role
t_check "identity.cert holds the new certificate" cmp "$ID/role.cert" "$HV_STATE/VMs/$VA/identity.cert"
t_check "identity.key holds the new key" cmp "$ID/role.key" "$HV_STATE/VMs/$VA/identity.key"
t_expect "identity.key is 0600, identity.cert 0644" '^600 644$' \
	bash -c "echo \$(stat -c %a '$HV_STATE/VMs/$VA/identity.key' '$HV_STATE/VMs/$VA/identity.cert')"
t_expect "GetVmInfo: IdentityName is the certificate's CN" '"IdentityName":"vm-role"' info "$VA"
t_expect "GetVmInfo: IdentityExpires is its NotAfter" "\"IdentityExpires\":\"$(notafter "$ID/role.cert")\"" info "$VA"
t_expect_fail "a key of another certificate is refused" 'Error replacing VM credentials: tls: private key does not match public key' \
	creds user "$VA" role role2
t_expect_fail "an expired certificate is refused" 'Error replacing VM credentials: cert expired 2h0m[0-9]+s ago' \
	creds user "$VA" old
t_expect_fail "a certificate not valid yet is refused" 'cert will not be valid for 4h59m[0-9]+s' \
	creds user "$VA" future
t_expect_fail "alice cannot give the VM her own identity" 'cannot give VM your own identity' \
	creds user "$VA" self
t_expect_fail "alice cannot replace the admin's VM's credentials" 'no access to resource' \
	creds user "$VB" role2
t_expect_fail "an unknown VM" 'no VM with IP address: 10.107.0.99 found' creds admin 10.107.0.99 role2
t_expect_fail "vm-control wants both files" 'give both -identityCertFile and -identityKeyFile' \
	vmc user -identityCertFile="$ID/role.cert" replace-vm-credentials "$VA"
t_check "the refusals left vm-role's certificate in place" cmp "$ID/role.cert" "$HV_STATE/VMs/$VA/identity.cert"

# The metadata server serves it: a namespace on alice's VM's tap stands in for the guest.
. "$SS_TOP/tests/lib/metadata.sh"
V=${SS_ID}v
IFS=. read -r a b c d <<<"$VA"
md_vm_add "$HV_NS" "$V" "$(printf 'tap%02x%02x%02x%02x' "$a" "$b" "$c" "$d")" "$BR" \
	"$(printf '52:54:00:6b:00:%02x' "$d")" "$VA/24" 10.107.0.1
ip -n "$V" route replace 169.254.0.0/16 dev eth0
for ((i = 0; i < 20; i++)); do
	md_get "$V" /latest/meta-data/instance-id
	[ "$MD_CODE" = 200 ] && break
	sleep 0.5
done
md_expect "metadata serves the new X.509 certificate" "$V" \
	/latest/dynamic/instance-identity/X.509-certificate 200 "=$(cat "$ID/role.cert")"
md_expect "... and its key" "$V" /latest/dynamic/instance-identity/X.509-key 200 "=$(cat "$ID/role.key")"
t_check "a second replacement (vm-role2)" creds user "$VA" role2
md_expect "metadata serves the replaced certificate at once" "$V" \
	/latest/dynamic/instance-identity/X.509-certificate 200 "=$(cat "$ID/role2.cert")"

# ---- ReplaceVmIdentity ----
t_expect "a requestor certificate without an identity provider" '"Error":"no Identity Provider"' \
	rpc user Hypervisor.ReplaceVmIdentity \
	"{\"IpAddress\":\"$VA\",\"IdentityRequestorCertificate\":\"$(base64 -w0 "$ID/role.cert")\"}"
t_expect_fail "vm-control replace-vm-identity -identityName: no provider" 'has no Identity Provider' \
	vmc user -identityName=web replace-vm-identity "$VA"
t_expect_fail "alice cannot erase the admin's VM's identity" 'no access to resource' \
	vmc user replace-vm-identity "$VB"
t_check "alice erases her VM's identity (no -identityName)" vmc user replace-vm-identity "$VA"
t_check "identity.cert and identity.key are gone" \
	test ! -e "$HV_STATE/VMs/$VA/identity.cert" -a ! -e "$HV_STATE/VMs/$VA/identity.key"
vi=$(info "$VA")
t_check "GetVmInfo: no IdentityName any more" bash -c "! grep -q IdentityName <<<'$vi'"
md_expect "metadata: no certificate any more" "$V" /latest/dynamic/instance-identity/X.509-certificate 404

# ---- CreateVm with an identity (the same checks, the same files) ----
VC=$(create user -vmTags=Name=alice-2 -identityCertFile="$ID/role.cert" -identityKeyFile="$ID/role.key")
t_expect "CreateVm with -identityCertFile/-identityKeyFile" '^10\.107\.0\.1[0-2]$' echo "$VC"
t_check "... writes identity.cert" cmp "$ID/role.cert" "$HV_STATE/VMs/$VC/identity.cert"
t_expect "... and records IdentityName" '"IdentityName":"vm-role"' info "$VC"
t_check "... keeps the key out of create-request.json" \
	bash -c "! grep -q IdentityKey '$HV_STATE/VMs/$VC/create-request.json'"
rpc user Hypervisor.DestroyVm "{\"IpAddress\":\"$VC\"}" >/dev/null
t_expect_fail "CreateVm with an expired identity is refused" 'cert expired' \
	vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=i -vmTags=Name=x \
	-identityCertFile="$ID/old.cert" -identityKeyFile="$ID/old.key" create-vm

# ---- Logger ----
lg() { rpc admin/logadmin "$@"; }
logs() { cat "$HV_DIR"/daemon-log/* 2>/dev/null; }
t_expect "Logger.SetDebugLevel(1)" '^\{\}$' lg Logger.SetDebugLevel '{"Level":1}'
t_expect "... is logged" 'Logger.SetDebugLevel\(1\)' logs
t_expect "Logger.Debug at level 1 is kept" '^\{\}$' lg Logger.Debug '{"Level":1,"Args":["dbg","one"]}'
t_expect "... and logged with its level" 'Logger.Debug\(1\): dbg one' logs
lg Logger.Debug '{"Level":2,"Args":["dbg","two"]}' >/dev/null
t_check "a Debug at level 2 is dropped at level 1" bash -c "! grep -q 'dbg two' \"$HV_DIR\"/daemon-log/*"
lg Logger.SetDebugLevel '{"Level":-1}' >/dev/null
lg Logger.Debug '{"Level":0,"Args":["dbg","three"]}' >/dev/null
t_check "SetDebugLevel(-1) drops every debug line" bash -c "! grep -q 'dbg three' \"$HV_DIR\"/daemon-log/*"
t_expect "Logger.Print" '^\{\}$' lg Logger.Print '{"Args":["hello","world"]}'
t_expect "... lands in the log" '^[0-9/]{10} [0-9:]{8} Logger.Print\(\): hello world$' logs
t_expect_fail "an unknown logger" 'unknown logger: other' lg Logger.Print '{"Name":"other","Args":["x"]}'
st=$(lg Logger.GetStackTrace '{}')
t_expect "Logger.GetStackTrace: Data is the process's threads as text" '^thread [0-9]+ \(serving Logger.GetStackTrace\):' \
	bash -c "python3 -c 'import json,sys,base64; sys.stdout.write(base64.b64decode(json.load(sys.stdin)[\"Data\"]).decode())' <<<'$st'"
t_expect_fail "alice may not call the Logger" 'access to method denied' rpc user/user Logger.Print '{"Args":["x"]}'

session() { # CERTDIR NAME SECONDS METHOD JSON [ARGS...]
	local dir=$1 name=$2 secs=$3
	shift 3
	hv_ns python3 "$SS_TOP/tests/lib/srpc_raw.py" -c "$C/$dir/$name.cert" -k "$C/$dir/$name.key" \
		--ca "$C/ca/ca.pem" --timeout "$secs" "127.0.0.1:$HV_PORT" session "$@"
}
session admin logadmin 10 Logger.Watch '{"IncludeRegex":"watch-(me|too)","ExcludeRegex":"too"}' \
	--until 'watch-me' >"$HV_DIR/watch.out" 2>&1 &
W=$!
for ((i = 0; i < 50; i++)); do
	grep -q Error "$HV_DIR/watch.out" 2>/dev/null && break
	sleep 0.1
done
lg Logger.Print '{"Args":["not","watched"]}' >/dev/null
lg Logger.Print '{"Args":["watch-too"]}' >/dev/null
lg Logger.Print '{"Args":["watch-me"]}' >/dev/null
wait "$W"
t_expect "Logger.Watch: {Error:\"\"}, then the matching log line only" \
	'^\{"Error":""\} [0-9/]{10} [0-9:]{8} Logger.Print\(\): watch-me $' bash -c "tr '\n' ' ' <'$HV_DIR/watch.out'"
# DebugLevel: the watcher gets debug lines the logger itself drops (level -1 here).
session admin logadmin 10 Logger.Watch '{"DebugLevel":3,"IncludeRegex":"deep-"}' \
	--until 'deep-three' >"$HV_DIR/watch2.out" 2>&1 &
W=$!
for ((i = 0; i < 50; i++)); do
	grep -q Error "$HV_DIR/watch2.out" 2>/dev/null && break
	sleep 0.1
done
lg Logger.Debug '{"Level":4,"Args":["deep-four"]}' >/dev/null
lg Logger.Debug '{"Level":3,"Args":["deep-three"]}' >/dev/null
wait "$W"
t_expect "Logger.Watch with DebugLevel 3 streams a level-3 debug line, not a level-4 one" \
	'^\{"Error":""\} [0-9/]{10} [0-9:]{8} Logger.Debug\(3\): deep-three $' bash -c "tr '\n' ' ' <'$HV_DIR/watch2.out'"
t_check "... which the logger at level -1 does not keep" bash -c "! grep -q deep- \"$HV_DIR\"/daemon-log/*"
t_expect "Logger.Watch with a bad regex answers its Error" '^\{"Error":"error parsing regexp: \(\["\}' \
	session admin logadmin 3 Logger.Watch '{"IncludeRegex":"(["}'
t_expect "Logger.Watch of an unknown logger" '^\{"Error":"unknown logger: x"\}' \
	session admin logadmin 3 Logger.Watch '{"Name":"x"}'

hv_daemon_stop
