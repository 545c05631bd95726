#!/usr/bin/env bash
# timeout: 1800
# parallel: birth
# hyper-control netboot-vm end to end: the hypervisor daemon (private libvirt, its
# bridge shared with a real imageserver holding the published images) creates a VM that
# PXE-boots the installer (build/images/pxe as -tftpbootDirectory) with the files
# hyper-control made (config.json of the VM, imagename, imageserver,
# storage-layout.json, CA.pem, IdentityCA.pem, a one-time enrol-token); hyper-control
# then enrols the installer (its request checked, a certificate signed by the fleet CA
# sent back), the installer installs the appliance onto the VM's disk, and restarted
# from that disk the VM is a second hypervisor whose RPC port presents a certificate
# that verifies against the fleet CA for its address. Neither netboot lease nor files
# remain afterwards. Before that, the failures: a netboot that times out and an
# interrupted netboot-vm (SIGINT) both leave no VM behind.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "netboot-vm" "$why"; exit 0; }
t_require libvirtd "the daemon's VMs run under a private libvirtd"
[ -x "$SS_BIN/hyper-control" ] || { t_skip "netboot-vm" "$SS_BIN/hyper-control missing (make)"; exit 0; }
[ -f "$BIRTH_IMAGES/pxe/pxelinux.0" ] || { t_skip "netboot-vm" "no PXE tree in $BIRTH_IMAGES/pxe"; exit 0; }
birth_setup libvirt || { t_fail "birth environment (libvirt, namespace, certificates, imageserver, images)"; exit 0; }
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm

root=$HV_DIR/tftpboot
cp -r "$BIRTH_IMAGES/pxe" "$root"
sed -i 's/^\(  APPEND .*\)/\1 ss.test=1/' "$root/pxelinux.cfg/default"
[ -f "$root/grub/grub.cfg" ] && sed -i 's/^\(linux .*\)/\1 ss.test=1/' "$root/grub/grub.cfg"
[ -f "$root/boot.ipxe" ] && sed -i 's/^\(kernel .*\)/\1 ss.test=1/' "$root/boot.ipxe"
hv_daemon_start -virtType="$vt" -stopTimeout=5s -tftpbootDirectory="$root" -initialLogDebugLevel=1 ||
	{ t_fail "hypervisor daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "hypervisor daemon with the PXE tree, imageserver with the images"

name=nbvm
ip=$(birth_ip 6) mac=$(birth_mac 6)
BIRTH_IP[$name]=$ip BIRTH_MAC[$name]=$mac BIRTH_HOST[$name]=netboot-test
t_expect "the daemon's subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	"{\"Add\":[{\"Id\":\"birthnet\",\"IpGateway\":\"$BIRTH_GW\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"$BIRTH_GW\"],\"DomainName\":\"birth.test\",\"Manage\":true}]}"
t_expect "one address in the daemon's pool: the VM's" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	"{\"AddressesToAdd\":[{\"IpAddress\":\"$ip\",\"MacAddress\":\"$mac\"}]}"

echo '{"BootDriveLayout": [{"MountPoint": "/", "MinimumFreeBytes": 67108864}], "Encrypt": false}' \
	>"$BIRTH_DIR/layout.json"
hc() {
	hv_ns "$SS_BIN/hyper-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
		-identityCAfile="$C/idca/ca.pem" -signerCertFile="$C/ca/ca.pem" -signerKeyFile="$C/ca/ca.key" \
		-hypervisorHostname=127.0.0.1 -imageServerHostname="$BIRTH_GW" -imageServerPortNum="$BIRTH_IMGPORT" \
		-subnetIDs=birthnet -memory="${BIRTH_MEM}M" -volumeSizes=4G -targetImageName=smallstack/hypervisor \
		-storageLayoutFilename="$BIRTH_DIR/layout.json" "$@"
}
vms() { rpc admin Hypervisor.ListVMs '{}' | jq -r '.IpAddresses // [] | join(",")'; }
dhcp_status() {
	hv_curl showDhcpStatus | sed -n '/<pre>/,/<\/pre>/p' |
		sed 's/.*<pre>//; s/<\/pre>.*//; s/&quot;/"/g; s/&#34;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
}
leftovers() {
	local s
	s=$(dhcp_status)
	echo "leases=$(jq -r '[.Leases[] | select(.Kind == "netboot") | .IpAddress] | join(",")' <<<"$s") files=$(jq -r .NetbootFileSets <<<"$s")"
}

# ---- failures leave no VM: a timeout, then an interruption ----
t_expect_fail --exit=1 "netboot-vm, nothing acknowledged in 3 s: the hypervisor's error" \
	'timed out receiving lease acknowledgement' hc -netbootTimeout=3s netboot-vm
t_expect "...and the VM is destroyed" '^$' vms
t_expect_fail --exit=1 "netboot-vm on a subnet the hypervisor lacks" 'subnet nosuch not found on 127.0.0.1' \
	hc -subnetIDs=birthnet,nosuch netboot-vm
t_expect "...nothing created" '^$' vms
hc -netbootTimeout=20s netboot-vm >"$BIRTH_DIR/int.out" 2>&1 &
pid=$!
for ((i = 0; i < 600; i++)); do grep -q "VM $ip created" "$BIRTH_DIR/int.out" && break; sleep 0.2; done
t_expect "interrupted netboot-vm: its VM exists" "^$ip\$" vms
# $pid is the subshell of the function; SIGINT goes to hyper-control itself.
hpid=$(pgrep -f -- "-netbootTimeout=20s netboot-vm" | head -1)
kill -INT "$hpid"
wait "$pid"
rc=$?
t_check "...SIGINT ends it with exit 1 (got $rc)" test "$rc" -eq 1
t_expect "...saying it destroys the VM" "destroying VM $ip" cat "$BIRTH_DIR/int.out"
t_expect "...and the VM is gone" '^$' vms
for ((i = 0; i < 150; i++)); do [ "$(leftovers)" = "leases= files=0" ] && break; sleep 0.5; done
t_expect "...the failed netboots left neither lease nor files (after their WaitTimeout)" \
	'^leases= files=0$' leftovers

# ---- the birth ----
BIRTH_T0[$name]=$EPOCHREALTIME
hc -netbootTimeout=300s netboot-vm >"$BIRTH_DIR/nb.out" 2>"$BIRTH_DIR/nb.err" &
nb=$!
sleep 1
hpid=$(pgrep -f -- "-netbootTimeout=300s netboot-vm" | head -1)
[ -n "$hpid" ] && t_cleanup kill -INT "$hpid"
for ((i = 0; i < 300; i++)); do [ "$(vms)" = "$ip" ] && break; sleep 0.2; done
bootlog=$HV_STATE/VMs/$ip/bootlog
mkdir -p "$BIRTH_DIR/$name"
BIRTH_LOG[$name]=$bootlog
BIRTH_RUN[$name]=1
echo "${BIRTH_T0[$name]}" >"$bootlog.t0"
qpid() { pgrep -f "qemu-system.*-name guest=hv-[0-9a-f]*-$ip" | head -1; }
for ((i = 0; i < 50; i++)); do [ -n "$(qpid)" ] && break; sleep 0.2; done
qpid >"$BIRTH_DIR/$name/qemu.pid"
_birth_stamp "$(cat "$BIRTH_DIR/$name/qemu.pid")" "$bootlog"
t_expect "CreateVm with network boot, no DHCP lease of its own" "^$ip\$" vms

if birth_wait "$name" '(^|] )installer: step enrol: begin' 900; then
	t_ok "the netbooted installer reaches step enrol ($(birth_elapsed "$name") s)"
else
	t_fail "the netbooted installer reaches step enrol" "$(birth_tail "$name"; tail -3 "$BIRTH_DIR/nb.err")"
	exit 0
fi
wait "$nb"
rc=$?
t_check "netboot-vm exits 0 once the certificate is sent (exit $rc)" test "$rc" -eq 0
t_expect "...it prints the VM's address" "^$ip\$" cat "$BIRTH_DIR/nb.out"
for line in "VM $ip created" "waiting for the machine to boot" "netboot acknowledged" \
	"enrolling netboot-test \\($ip:6978\\)" "certificate sent to netboot-test"; do
	t_expect "...progress: $line" "hyper-control: .*$line" cat "$BIRTH_DIR/nb.err"
done
t_expect "the installer accepted the certificate" '(^|] )installer: step enrol: done' cat "$bootlog"
if birth_wait "$name" '(^|] )installer: (install complete|FAILED)' 900 && grep -qaE '(^|] )installer: install complete' "$bootlog"; then
	t_ok "the installer installs the appliance ($(birth_elapsed "$name") s)"
else
	t_fail "the installer installs the appliance" "$(birth_tail "$name")"
	exit 0
fi
t_expect "the netboot lease is gone at once" '^leases= ' leftovers

# Restarted from its disk alone (its subnet is managed: the installer made a bridge
# for it, so the daemon serves RPC): a second hypervisor with the enrolled certificate.
vmc admin stop-vm "$ip" >/dev/null 2>&1 || vmc admin destroy-vm "$ip" >/dev/null 2>&1
for ((i = 0; i < 100; i++)); do [ "$(vmc admin get-vm-info "$ip" | jq -r .State)" = stopped ] && break; sleep 0.3; done
BIRTH_T0[$name]=$EPOCHREALTIME
t_check "start-vm (from the disk alone)" vmc admin start-vm "$ip"
for ((i = 0; i < 50; i++)); do [ -n "$(qpid)" ] && break; sleep 0.2; done
qpid >"$BIRTH_DIR/$name/qemu.pid"
_birth_stamp "$(cat "$BIRTH_DIR/$name/qemu.pid")" "$bootlog" more
if birth_wait "$name" '(^|] )hypervisor-appliance: ready' 600; then
	t_ok "the disk alone boots the appliance ($(birth_elapsed "$name") s)"
else
	t_fail "the disk alone boots the appliance" "$(birth_tail "$name")"
	exit 0
fi
if birth_wait_rpc "$name" 300; then
	t_ok "the installed hypervisor answers RPC, its certificate verified against the fleet CA for $ip"
else
	t_fail "the installed hypervisor answers RPC"
fi
hvrpc() { # SERVERNAME CADIR: ListSubnets of the installed hypervisor, verified as asked
	hv_ns "$SS_BIN/srpc-testc" -addr="$ip:6976" -serverName="$1" -certFile="$C/admin/admin.cert" \
		-keyFile="$C/admin/admin.key" -CAfile="$C/$2/ca.pem" -timeout=20s call Hypervisor.ListSubnets '{}'
}
t_expect "...verified by its name too (DNS:netboot-test), with the configured subnet" \
	'"Id":"birthnet"' hvrpc netboot-test ca
t_expect_fail "...a client trusting another CA refuses it" 'certificate|verif|x509' hvrpc "$ip" otherca
t_expect "...its hostname is netboot-test (status page)" '^netboot-test$' birth_host "$name"
# The files stay FilesExpiration after the last ACK, raised by the daemon to
# WaitTimeout + 1 s (301 s here).
for ((i = 0; i < 400; i++)); do [ "$(leftovers)" = "leases= files=0" ] && break; sleep 0.5; done
t_expect "neither netboot lease nor files remain" '^leases= files=0$' leftovers
vmc admin destroy-vm "$ip" >/dev/null 2>&1
hv_daemon_stop
