#!/usr/bin/env bash
# timeout: 150
# Security of the hypervisor daemon (test driver, no boots): the mTLS matrix on port
# 6976 (no client certificate, unknown CA, expired, not yet valid, identity-only
# certificate, wrong grant, TLS 1.1 — each refused; a granted admin certificate
# accepted), modes of every file in the state directory (spec hypervisor.md §3), and
# no secret (user data, identity key) in status pages, state or logs; sensitive pages
# refused to non-loopback callers (weaknesses #4).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"

hv_env_start || { t_fail "test environment"; exit 0; }
hv_bridge "${SS_ID}br" 10.103.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs

# A CA-signed certificate with explicit validity dates (openssl ca), reusing the CSR
# and extensions _hv_cert wrote. DIR NAME START END
dated_cert() {
	local dir=$C/$1 db=$C/$1/db
	mkdir -p "$dir" "$db"
	_hv_cert "$dir" "$1" "$1" "$C/ca" 'Hypervisor.*' || return 1
	: >"$db/index.txt"
	openssl rand -hex 8 >"$db/serial"
	printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s\nnew_certs_dir = %s\nserial = %s\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n' \
		"$db/index.txt" "$db" "$db/serial" >"$db/ca.cnf"
	openssl ca -batch -config "$db/ca.cnf" -cert "$C/ca/ca.pem" -keyfile "$C/ca/ca.key" \
		-in "$dir/$1.csr" -out "$dir/$1.cert" -notext -startdate "$2" -enddate "$3" \
		-extfile "$dir/$1.cnf" -extensions ext 2>/dev/null
}
dated_cert expired 20200101000000Z 20200102000000Z || t_fail "expired certificate made"
dated_cert future 20990101000000Z 20990102000000Z || t_fail "not-yet-valid certificate made"
mkdir -p "$C/other"
_hv_cert "$C/other" other olga "$C/ca" 'Other.*' || t_fail "Other.* certificate made"

rpc() { # CERT METHOD JSON
	local who=$1
	shift
	hv_ns "$SS_BIN/srpc-testc" -certFile="$C/$who/$who.cert" -keyFile="$C/$who/$who.key" \
		-CAfile="$C/ca/ca.pem" call "$@" 2>&1
}
vmc() {
	hv_ns "$SS_BIN/vm-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 "$@"
}
# openssl s_client through the daemon's CONNECT; stays a second to read the alert,
# and sends a ListVMs call: "IpAddresses" in the output means the call was served.
sclient() {
	(sleep 0.5; printf 'Hypervisor.ListVMs\n'; sleep 0.3; printf '{}\n'; sleep 0.7) |
		timeout 10 ip netns exec "$HV_NS" openssl s_client -quiet -no_ign_eof \
			-proxy "127.0.0.1:$HV_PORT" -connect '/_SRPC_/TLS/JSON?s=:1' \
			-CAfile "$C/ca/ca.pem" -servername localhost "$@" 2>&1
}
refused() { # DESCRIPTION ALERT-REGEX S_CLIENT-ARGS...: an alert, and no reply to the call
	local what=$1 re=$2 out
	shift 2
	out=$(sclient "$@")
	if grep -q 'IpAddresses' <<<"$out"; then
		t_fail "$what" "the call was served: $(head -c 300 <<<"$out")"
	elif grep -Eqi "$re" <<<"$out"; then
		t_ok "$what"
	else
		t_fail "$what" "no matching alert: $(tail -3 <<<"$out")"
	fi
}

hv_daemon_start -virtType=qemu -stopTimeout=2s || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts (test driver)"

# ---- mTLS matrix ----
t_expect "admin certificate: ListVMs served (srpc-testc)" 'IpAddresses' rpc admin Hypervisor.ListVMs '{}'
t_expect "admin certificate: ListVMs served (openssl s_client)" 'IpAddresses' \
	sclient -cert "$C/admin/admin.cert" -key "$C/admin/admin.key"
refused "no client certificate: refused" 'alert|certificate required|handshake failure|missing certificate'
refused "certificate from an unknown CA: refused" 'alert unknown ca|alert bad certificate|alert' \
	-cert "$C/stranger/stranger.cert" -key "$C/stranger/stranger.key"
refused "expired certificate: refused" 'alert certificate expired|alert bad certificate' \
	-cert "$C/expired/expired.cert" -key "$C/expired/expired.key"
refused "not-yet-valid certificate: refused" 'alert certificate expired|alert bad certificate|alert' \
	-cert "$C/future/future.cert" -key "$C/future/future.key"
refused "TLS 1.1 offered: refused" 'alert protocol version|wrong version|unsupported protocol|no protocols' \
	-tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -cert "$C/admin/admin.cert" -key "$C/admin/admin.key"
t_expect_fail "identity-only certificate granting Hypervisor.*: admin method denied" 'access to method denied' \
	rpc idonly Hypervisor.ChangeAddressPool '{}'
t_expect_fail "identity-only certificate: UpdateSubnets denied" 'access to method denied' \
	rpc idonly Hypervisor.UpdateSubnets '{}'
t_expect_fail "certificate granting only Other.*: ChangeAddressPool denied" 'access to method denied' \
	rpc other Hypervisor.ChangeAddressPool '{}'
t_expect_fail "certificate granting only Other.*: SetDisabledState denied" 'access to method denied' \
	rpc other Hypervisor.SetDisabledState '{"Disable":true}'
t_check "nothing denied changed the state: not disabled" test ! -e "$HV_STATE/disabled"
t_expect "admin certificate: ChangeAddressPool served" '"Error":""' \
	rpc admin Hypervisor.UpdateSubnets '{"Add":[{"Id":"s","IpGateway":"10.103.0.1","IpMask":"255.255.255.0"}]}'
t_expect "admin certificate: addresses added" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.103.0.10","MacAddress":"52:54:00:67:00:0a"},{"IpAddress":"10.103.0.11","MacAddress":"52:54:00:67:00:0b"}]}'
t_check "daemon still running after the refused handshakes" kill -0 "$HV_PID"

# ---- a VM holding secrets ----
SECRET="ss-secret-$SS_ID-$(openssl rand -hex 12)"
printf '#!/bin/sh\necho password=%s\n' "$SECRET" >"$HV_DIR/userdata"
VM=$(vmc -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=sec -userDataFile="$HV_DIR/userdata" \
	-doNotStart create-vm 2>"$HV_DIR/create.err")
t_expect "VM with user data created (not started)" '^10\.103\.0\.1[01]$' echo "$VM"
t_expect "user data stored for the VM" "$SECRET" cat "$HV_STATE/VMs/$VM/user-data.raw"
# An identity key: CreateVm stores it for the metadata server (identity.key, 0600)
# and must never echo or log it, nor keep it in create-request.json.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$HV_DIR/id.key" -out "$HV_DIR/id.cert" -days 1 \
	-subj "/CN=vmid" 2>/dev/null
KEYLINE=$(sed -n 5p "$HV_DIR/id.key")
idout=$(vmc -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=id -identityCertFile="$HV_DIR/id.cert" \
	-identityKeyFile="$HV_DIR/id.key" create-vm 2>&1)
t_expect "VM with an identity created" '^10\.103\.0\.1[01]$' echo "$idout"
idvm=$(grep -xE '10\.103\.0\.1[01]' <<<"$idout" | head -1)
t_expect "its identity.key is 0600" '^600$' stat -c %a "$HV_STATE/VMs/$idvm/identity.key"
t_check "create-request.json does not hold the key" \
	bash -c "! grep -qF -- '$KEYLINE' '$HV_STATE/VMs/$idvm/create-request.json'"
t_check "create-vm does not echo the identity key" bash -c "! grep -qF -- '$KEYLINE' <<<'$idout'"

# ---- status pages: nothing leaks, even to local callers ----
pages=("" listVMs "listVMs?output=json" "listVMs?output=text" "showVM?$VM" "showVM?$VM&output=json"
	"showVmBootLog?$VM" subnets addresses logs listSubnets listAvailableAddresses
	listRegisteredAddresses listVolumeDirectories showVolumeDirectories metrics healthz)
: >"$HV_DIR/pages.txt"
for p in "${pages[@]}"; do hv_curl "$p" >>"$HV_DIR/pages.txt" 2>&1; done
for f in $(hv_curl logs | grep -o 'showLogFile?name=[^"&]*' | sort -u); do
	hv_curl "$f" >>"$HV_DIR/pages.txt" 2>&1
done
t_check "local status pages fetched ($(wc -c <"$HV_DIR/pages.txt") bytes)" grep -q "$VM" "$HV_DIR/pages.txt"
t_check "no status page shows the user-data secret" bash -c "! grep -qF '$SECRET' '$HV_DIR/pages.txt'"
t_check "no status page shows the identity key" bash -c "! grep -qF -- '$KEYLINE' '$HV_DIR/pages.txt'"
remote() { hv_ns curl -sS --max-time 10 --interface 10.103.0.1 -o /dev/null -w '%{http_code}' \
	"http://10.103.0.1:$HV_PORT/$1"; }
for p in listVMs "showVM?$VM" "showVmBootLog?$VM" logs subnets addresses listSubnets \
	listAvailableAddresses listRegisteredAddresses showVolumeDirectories; do
	t_expect "remote caller: /$p forbidden" '^403$' remote "$p"
done
for p in "" healthz; do
	t_expect "remote caller: /$p allowed" '^200$' remote "$p"
done
rsum=$(hv_ns curl -sS --max-time 10 --interface 10.103.0.1 "http://10.103.0.1:$HV_PORT/")
t_check "remote summary names no VM" bash -c "! grep -qF '$VM' <<<'$rsum'"

# ---- logs and state ----
t_check "daemon logs hold no user-data secret" bash -c "! grep -rqF '$SECRET' '$HV_DIR/daemon-log' '$HV_LOG'"
t_check "daemon logs hold no identity key" bash -c "! grep -rqF -- '$KEYLINE' '$HV_DIR/daemon-log' '$HV_LOG'"
t_check "create-request.json holds no user data or key" bash -c \
	"! grep -qF -e '$SECRET' -e '$KEYLINE' '$HV_STATE/VMs/$VM/create-request.json'"

# ---- modes (spec §3): every file in the state directory ----
expected_mode() { # relative path -> octal mode the spec gives, or "" if unspecified
	case $1 in
	uuid | disabled | address-pool.json | subnets.json | dynamic-leases.json | owners.json) echo 644 ;;
	root-cookie | key.pem | control) echo 600 ;;
	VMs | VMs/*/) echo 755 ;;
	VMs/*/create-request.json) echo 644 ;;
	VMs/*/identity.key | VMs/*/identity-Ed25519.*-key) echo 600 ;;
	*) echo "" ;;
	esac
}
bad=""
unspec=""
n=0
while IFS= read -r line; do
	m=${line%% *}
	rel=${line#* }
	[ -d "$HV_STATE/$rel" ] && rel="$rel/"
	[ "$rel" = VMs/ ] && rel=VMs
	n=$((n + 1))
	want=$(expected_mode "$rel")
	if [ -n "$want" ]; then
		[ "$m" = "$want" ] || bad="$bad $rel=$m(want $want)"
	else
		unspec="$unspec $rel=$m"
	fi
	# Nothing in the state directory may be writable by group or others.
	case $m in *[2367]? | *[2367]) bad="$bad $rel=$m(group/other writable)" ;; esac
	case $rel in *~) bad="$bad $rel(leftover temporary)" ;; esac
done < <(cd "$HV_STATE" && find . -mindepth 1 -printf '%m %P\n')
echo "# state directory: $n entries; modes the spec leaves open:$unspec"
t_check "every state file has the mode spec §3 gives ($n entries)" test -z "$bad"
[ -z "$bad" ] || echo "# wrong modes:$bad"
t_expect "key.pem 0600" '^600$' stat -c %a "$HV_STATE/key.pem"
t_expect "root-cookie 0600" '^600$' stat -c %a "$HV_STATE/root-cookie"
t_check "daemon log files are not group- or world-writable" bash -c \
	"! find '$HV_DIR/daemon-log' -type f -perm /0022 | grep -q ."

t_check "daemon survived the whole run" kill -0 "$HV_PID"

