#!/usr/bin/env bash
# timeout: 240
# hyper-control's commands for one hypervisor (docs/hyper-control/host.md) against a
# real hypervisor daemon (libvirt's test driver) with real certificates: each change is
# checked by a second, independent look (the daemon's status pages, its RPCs, a DHCP
# client, an SMTP listener), and each refusal by its error line and exit status.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "the daemon's status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require jq "RPC answers are checked with jq"
t_require python3 "the SMTP listener is a python3 script"

BR=${SS_ID}br
hv_setup "$BR" 10.106.0.1/24 || exit 0
export HOME=$HV_DIR/home HYPER_CONTROL_SYSCONFDIR=$HV_DIR/etc-hc
mkdir -p "$HOME" "$HYPER_CONTROL_SYSCONFDIR"

# hc CERT ARGS...: hyper-control as one of hv_certs' identities, towards the daemon.
hc() {
	local who=$1
	shift
	hv_ns timeout 60 "$SS_BIN/hyper-control" -certDirectory="$C/$who" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 "$@"
}
registered() { hv_curl listRegisteredAddresses | jq -r '.[] | "\(.IpAddress) \(.MacAddress)"' | paste -sd';'; }
nregistered() { hv_curl listRegisteredAddresses | jq length; }
navailable() { hv_curl listAvailableAddresses | jq length; }
nsubnets() { hv_curl listSubnets | jq length; }
subnets() { rpc admin Hypervisor.ListSubnets '{}' | jq -r '.Subnets[] | "\(.Id) \(.IpGateway) \(.IpMask) \(.DomainNameServers | join(","))"'; }

hv_daemon_start -virtType=qemu -stopTimeout=2s -enableLockDebugMethods \
	-identityProvider=https://idp.example.org/ || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts"

# ---- common refusals ----
t_expect_fail --exit=1 "no -hypervisorHostname: named" '^error getting capacity: hypervisorHostname unspecified$' \
	hv_ns "$SS_BIN/hyper-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" get-capacity
t_expect_fail --exit=1 "a caller without the grant is refused" '^error adding subnet: .*access to method denied' \
	hc user add-subnet s1 10.106.0.1 255.255.255.0 10.106.0.1
t_expect_fail --exit=1 "a hypervisor whose certificate is not from -CAfile is refused" \
	'^error getting capacity: x509: certificate for host 127\.0\.0\.1 not trusted' \
	hv_ns "$SS_BIN/hyper-control" -certDirectory="$C/admin" -CAfile="$C/otherca/ca.pem" -hypervisorHostname=127.0.0.1 get-capacity
t_expect_fail --exit=1 "a client certificate from another CA is refused" '^error getting capacity: ' \
	hc stranger get-capacity

# ---- add-subnet ----
t_expect_fail --exit=2 "add-subnet needs a DNS server (usage, exit 2)" 'usage: hyper-control \[flags...\] add-subnet ID GatewayIP Mask DNS\.\.\.' \
	hc admin add-subnet s1 10.106.0.1 255.255.255.0
t_expect_fail --exit=1 "add-subnet: a bad gateway" '^error adding subnet: invalid IP address: 10\.106\.0$' \
	hc admin add-subnet s1 10.106.0 255.255.255.0 10.106.0.1
t_expect_fail --exit=1 "add-subnet: a bad DNS server" '^error adding subnet: invalid IP address: dns$' \
	hc admin add-subnet s1 10.106.0.1 255.255.255.0 10.106.0.1 dns
t_expect "... no subnet was added by the refusals" '^0$' nsubnets
t_check "add-subnet s1 with two DNS servers" hc admin add-subnet s1 10.106.0.1 255.255.255.0 10.106.0.1 10.106.0.2
t_expect "... ListSubnets has it, as given" '^s1 10\.106\.0\.1 255\.255\.255\.0 10\.106\.0\.1,10\.106\.0\.2$' \
	subnets
t_expect_fail --exit=1 "add-subnet: the same ID again is the server's refusal" '^error adding subnet: .*s1' \
	hc admin add-subnet s1 10.106.0.1 255.255.255.0 10.106.0.1

# ---- the address pool ----
t_check "add-address MAC IP" hc admin add-address 52:54:00:6a:00:10 10.106.0.10
t_expect "... the pool has it" '^10\.106\.0\.10 52:54:00:6a:00:10$' registered
t_check "add-address \"\" IP: the MAC is derived from the IP" hc admin add-address "" 10.106.0.11
t_expect "... as 52:54:<IP in hex>" ';10\.106\.0\.11 52:54:0a:6a:00:0b$' registered
t_expect_fail --exit=1 "add-address: a bad MAC" '^error adding address: invalid MAC address: 52:54:zz$' \
	hc admin add-address 52:54:zz 10.106.0.12
t_expect_fail --exit=1 "add-address: a bad IP" '^error adding address: invalid IP address: 10\.106\.0\.300$' \
	hc admin add-address 52:54:00:6a:00:12 10.106.0.300
t_expect_fail --exit=2 "add-address: three arguments (usage)" 'usage: hyper-control \[flags...\] add-address MAC \[IP\]' \
	hc admin add-address a b c
t_expect "... the refusals added nothing" '^2$' nregistered

t_expect_fail --exit=1 "remove-ip-address: an invalid IP" '^error removing IP address: invalid IP address: ten$' \
	hc admin remove-ip-address ten
t_check "remove-ip-address 10.106.0.10" hc admin remove-ip-address 10.106.0.10
t_expect "... it is gone, the other stays" '^10\.106\.0\.11 52:54:0a:6a:00:0b$' registered
t_expect_fail --exit=1 "remove-mac-address: an invalid MAC" '^error removing MAC address: invalid MAC address: 52-54$' \
	hc admin remove-mac-address 52-54
t_check "remove-mac-address 52:54:0a:6a:00:0b" hc admin remove-mac-address 52:54:0a:6a:00:0b
t_expect "... the pool is empty" '^0$' nregistered

for i in 20 21 22 23; do hc admin add-address "52:54:00:6a:00:$i" "10.106.0.$i" >/dev/null 2>&1; done
t_expect "four free addresses" '^4$' navailable
t_expect_fail --exit=1 "remove-excess-addresses: beyond uint16" '^error removing excess addresses: invalid number \(0 to 65535\): 65536$' \
	hc admin remove-excess-addresses 65536
t_expect_fail --exit=1 "remove-excess-addresses: negative" 'invalid number' hc admin remove-excess-addresses -1
t_check "remove-excess-addresses 1" hc admin remove-excess-addresses 1
t_expect "... one free address is left" '^1$' navailable

# ---- disabled state ----
t_check "disable-hypervisor" hc admin disable-hypervisor
t_expect "... /metrics says disabled" '^hypervisor_disabled 1$' hv_curl metrics
t_expect "... GetUpdates says disabled" '"Disabled":true' first admin Hypervisor.GetUpdates
t_check "enable-hypervisor" hc admin enable-hypervisor
t_expect "... /metrics says enabled" '^hypervisor_disabled 0$' hv_curl metrics
t_expect_fail --exit=2 "disable-hypervisor takes no argument" 'usage: hyper-control \[flags...\] disable-hypervisor$' \
	hc admin disable-hypervisor now

# ---- capacity, identity provider, public key, volume directories ----
cap=$(hc admin get-capacity 2>&1)
want=$(rpc admin Hypervisor.GetCapacity '{}' | jq -c '{MemoryInMiB, NumCPUs, TotalVolumeBytes}')
if [ "$(jq -c '{MemoryInMiB, NumCPUs, TotalVolumeBytes}' <<<"$cap" 2>/dev/null)" = "$want" ] &&
	grep -q '^    "NumCPUs": ' <<<"$cap"; then
	t_ok "get-capacity prints GetCapacity as 4-space indented JSON"
else
	t_fail "get-capacity prints GetCapacity as 4-space indented JSON" "got: $cap want: $want"
fi
t_expect "get-identity-provider prints the URL" '^https://idp\.example\.org/$' hc admin get-identity-provider
hc admin get-public-key >"$HV_DIR/pub.pem" 2>"$HV_DIR/pub.err"
rpc admin Hypervisor.GetPublicKey '{}' | jq -r .KeyPEM | base64 -d >"$HV_DIR/pub.want"
if [ -s "$HV_DIR/pub.want" ] && cmp -s "$HV_DIR/pub.pem" "$HV_DIR/pub.want" &&
	grep -q 'BEGIN' "$HV_DIR/pub.pem"; then
	t_ok "get-public-key writes the PEM bytes"
else
	t_fail "get-public-key writes the PEM bytes" "$(head -c 200 "$HV_DIR/pub.pem" "$HV_DIR/pub.err")"
fi
t_expect "list-volume-directories prints one per line" "^$HV_DIR/volumes\$" hc admin list-volume-directories

# ---- locks ----
hc admin -lockTimeout=3s -writeLock hold-lock >"$HV_DIR/hold.out" 2>&1 &
HOLD=$!
sleep 0.5
start=$(date +%s%N)
hc admin add-address 52:54:00:6a:00:30 10.106.0.30 >/dev/null 2>&1
waited=$((($(date +%s%N) - start) / 1000000))
wait "$HOLD"
hold_rc=$?
if [ "$hold_rc" = 0 ] && [ "$waited" -ge 1500 ]; then
	t_ok "hold-lock -writeLock makes a writer wait (${waited} ms)"
else
	t_fail "hold-lock -writeLock makes a writer wait" "exit $hold_rc, waited $waited ms: $(cat "$HV_DIR/hold.out")"
fi
t_expect_fail --exit=1 "hold-lock: -lockTimeout above the server's limit" '^error holding lock: timeout must be at most 1 minute$' \
	hc admin -lockTimeout=2m hold-lock

rpc admin Hypervisor.ChangeOwners '{"OwnerUsers":["admin"]}' >/dev/null
VM=$(hv_ns "$SS_BIN/vm-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -hypervisorHostname=127.0.0.1 \
	-dhcpTimeout=0 -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=s1 -hostname=web1 \
	-ownerUsers=carol create-vm 2>&1 | tail -1)
if [[ $VM =~ ^10\.106\.0\.[0-9]+$ ]]; then
	t_ok "a VM for the VM commands ($VM)"
else
	t_fail "a VM for the VM commands" "$VM"
fi
t_expect_fail --exit=1 "remove-ip-address: the address a VM uses is refused" '^error removing IP address: .*not in free pool' \
	hc admin remove-ip-address "$VM"
t_expect_fail --exit=1 "remove-mac-address: an address not in the pool is refused" '^error removing MAC address: .*52:54:00:6a:00:99.*not in free pool' \
	hc admin remove-mac-address 52:54:00:6a:00:99
start=$(date +%s%N)
t_check "hold-vm-lock VM -lockTimeout=1s" hc admin -lockTimeout=1s hold-vm-lock "$VM"
held=$((($(date +%s%N) - start) / 1000000))
if [ "$held" -ge 1000 ]; then t_ok "... held for 1 s ($held ms)"; else t_fail "... held for 1 s" "$held ms"; fi
t_check "hold-vm-lock without -hypervisorHostname or -fleetManagerHostname: localhost" \
	hv_ns timeout 60 "$SS_BIN/hyper-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -lockTimeout=1ms \
	hold-vm-lock "$VM"
t_expect_fail --exit=1 "hold-vm-lock: localhost on another port is dialled" '^error holding VM lock: dial localhost:1: ' \
	hv_ns timeout 60 "$SS_BIN/hyper-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -hypervisorPortNum=1 \
	hold-vm-lock "$VM"
t_expect_fail --exit=1 "hold-vm-lock: a VM that does not exist" '^error holding VM lock: .*10\.106\.0\.99' \
	hc admin -lockTimeout=1s hold-vm-lock 10.106.0.99
t_expect_fail --exit=1 "hold-vm-lock: a name that does not resolve" '^error holding VM lock: lookup no-such-vm\.invalid' \
	hc admin hold-vm-lock no-such-vm.invalid

# ---- register-external-leases ----
t_expect_fail --exit=1 "register-external-leases: a malformed lease" '^error registering external leases: malformed lease \(MAC;IP expected\): 52:54:00:69:00:32$' \
	hc admin -externalLeaseAddresses=52:54:00:69:00:32 register-external-leases
t_expect_fail --exit=1 "register-external-leases: an address outside every subnet" '^error registering external leases: .*no subnet found for 10\.9\.9\.9' \
	hc admin '-externalLeaseAddresses=52:54:00:69:00:32;10.9.9.9' register-external-leases
if command -v udhcpc >/dev/null 2>&1; then
	hv_dhcp_machine "$BR" 52:54:00:69:00:32
	t_expect "before registration the machine gets no lease" '^\.$' hv_lease
	t_check "register-external-leases MAC;IP with a hostname" \
		hc admin '-externalLeaseAddresses=52:54:00:69:00:32;10.106.0.50' -externalLeaseHostnames=ext-one register-external-leases
	t_expect "... the machine gets that lease and hostname" '^hostname=ext-one ip=10\.106\.0\.50 \.$' hv_lease
	t_check "register-external-leases with none" hc admin register-external-leases
	t_expect "... and the lease is gone" '^\.$' hv_lease
else
	t_skip "register-external-leases seen by a DHCP client" "udhcpc (busybox) not installed"
fi

# ---- send-email-to-hypervisor-vm-owners ----
cat >"$HV_DIR/smtp.py" <<'EOF'
import socket, sys
# One SMTP session: records every line the client sends, answers like a server.
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(60)
open(sys.argv[1], "w").write(str(srv.getsockname()[1]))
conn, _ = srv.accept()
conn.settimeout(60)
f = conn.makefile("rb")
log = open(sys.argv[2], "wb")
def say(s): conn.sendall(s.encode() + b"\r\n")
say("220 test ESMTP")
data = False
for line in f:
    log.write(line); log.flush()
    if data:
        if line == b".\r\n":
            data = False
            say("250 queued")
        continue
    cmd = line[:4].upper()
    if cmd == b"DATA":
        data = True
        say("354 go ahead")
    elif cmd == b"QUIT":
        say("221 bye")
        break
    elif cmd == b"EHLO":
        say("250-test")
        say("250 8BITMIME")
    else:
        say("250 ok")
EOF
printf 'Maintenance tonight.\n.starts with a dot\n' >"$HV_DIR/body.txt"
t_expect_fail --exit=1 "send-email: -smtpServer is required" '^error sending e-mail: smtpServer unspecified$' \
	hc admin -emailDomain=example.org -emailBodyFilename="$HV_DIR/body.txt" send-email-to-hypervisor-vm-owners
: >"$HV_DIR/empty.txt"
t_expect_fail --exit=1 "send-email: an empty body" '^error sending e-mail: no message body$' \
	hc admin -smtpServer=127.0.0.1:1 -emailDomain=example.org -emailBodyFilename="$HV_DIR/empty.txt" send-email-to-hypervisor-vm-owners
t_expect_fail --exit=1 "send-email: an SMTP server that is not there" '^error sending e-mail: SMTP: dial 127\.0\.0\.1:1: ' \
	hc admin -smtpServer=127.0.0.1:1 -emailDomain=example.org -emailBodyFilename="$HV_DIR/body.txt" send-email-to-hypervisor-vm-owners
hv_ns python3 "$HV_DIR/smtp.py" "$HV_DIR/smtp.port" "$HV_DIR/smtp.log" &
SMTP=$!
t_cleanup kill "$SMTP"
for _ in $(seq 50); do [ -s "$HV_DIR/smtp.port" ] && break; sleep 0.1; done
t_check "send-email-to-hypervisor-vm-owners through an SMTP listener" \
	hc admin -smtpServer="127.0.0.1:$(cat "$HV_DIR/smtp.port")" -emailDomain=example.org \
	-emailBodyFilename="$HV_DIR/body.txt" send-email-to-hypervisor-vm-owners
wait "$SMTP"
log=$HV_DIR/smtp.log
t_expect "... EHLO with -emailDomain" '^EHLO example\.org' cat "$log"
t_expect "... MAIL FROM the certificate's CN at -emailDomain" '^MAIL FROM:<admin@example\.org>' cat "$log"
t_expect "... RCPT TO every owner, bare, once each" '^admin,carol$' \
	bash -c "sed -n 's/^RCPT TO:<\(.*\)>\r$/\1/p' '$log' | sort | paste -sd,"
t_expect "... the subject names the hypervisor" '^Subject: Hypervisor 127\.0\.0\.1 maintenance' cat "$log"
t_expect "... To is the sender" '^To: admin@example\.org' cat "$log"
t_expect "... the body, dot-stuffed" '^\.\.starts with a dot' cat "$log"
t_expect "... the count of affected VMs" '^The following 1 running VM\(s\) will be affected:' cat "$log"
t_expect "... the table row: IP, hostname, primary owner" "^${VM//./\\.} +web1 +admin" cat "$log"

# ---- get-identity-provider without one ----
hv_daemon_kill9
hv_daemon_start -virtType=qemu -stopTimeout=2s || t_fail "daemon restarts"
t_expect_fail --exit=1 "get-identity-provider: none configured" '^error getting identity provider: Hypervisor has no Identity Provider$' \
	hc admin get-identity-provider
t_expect_fail --exit=1 "hold-lock: not served without -enableLockDebugMethods" '^error holding lock: .*unknown method' \
	hc admin hold-lock
