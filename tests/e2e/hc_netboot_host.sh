#!/usr/bin/env bash
# timeout: 1800
# parallel: birth
# hyper-control netboot-host end to end, without a fleet manager: the machine comes from
# a topology (-topologyDir) with its IP, MAC, subnet and RequiredImage tag; the boot
# server is a hypervisor daemon (-hypervisorHostname) on the bridge shared with a real
# imageserver holding the published images. The test powers the machine on: a bare
# QEMU with the topology's MAC on the bridge and a blank disk, so its firmware falls
# through to PXE. The installer boots from the daemon, is enrolled by hyper-control
# (a certificate signed by the fleet CA), installs the appliance, and the disk alone
# then boots a hypervisor answering RPC with the topology's hostname and subnet, its
# certificate verified against the fleet CA. Neither netboot lease nor files remain.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "netboot-host" "$why"; exit 0; }
[ -x "$SS_BIN/hyper-control" ] || { t_skip "netboot-host" "$SS_BIN/hyper-control missing (make)"; exit 0; }
[ -f "$BIRTH_IMAGES/pxe/pxelinux.0" ] || { t_skip "netboot-host" "no PXE tree in $BIRTH_IMAGES/pxe"; exit 0; }
birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, images)"; exit 0; }

root=$HV_DIR/tftpboot
cp -r "$BIRTH_IMAGES/pxe" "$root"
sed -i 's/^\(  APPEND .*\)/\1 ss.test=1/' "$root/pxelinux.cfg/default"
[ -f "$root/grub/grub.cfg" ] && sed -i 's/^\(linux .*\)/\1 ss.test=1/' "$root/grub/grub.cfg"
[ -f "$root/boot.ipxe" ] && sed -i 's/^\(kernel .*\)/\1 ss.test=1/' "$root/boot.ipxe"
hv_daemon_start -virtType=qemu -stopTimeout=5s -tftpbootDirectory="$root" -initialLogDebugLevel=1 ||
	{ t_fail "hypervisor daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "boot server: hypervisor daemon with the PXE tree; imageserver with the images"
t_expect "the boot server's subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	"{\"Add\":[{\"Id\":\"birthnet\",\"IpGateway\":\"$BIRTH_GW\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"$BIRTH_GW\"]}]}"

name=host
ip=$(birth_ip 7) mac=$(birth_mac 7) host=birth-nbhost
BIRTH_IP[$name]=$ip BIRTH_MAC[$name]=$mac BIRTH_HOST[$name]=$host
T=$BIRTH_DIR/topology
mkdir -p "$T/Lab"
cat >"$T/Lab/subnets.json" <<JSON
[{"Id": "birthnet", "IpGateway": "$BIRTH_GW", "IpMask": "255.255.255.0", "DomainName": "birth.test",
  "DomainNameServers": ["$BIRTH_GW"], "Manage": true}]
JSON
cat >"$T/Lab/machines.json" <<JSON
[{"Hostname": "$host", "HostIpAddress": "$ip", "HostMacAddress": "$mac",
  "Tags": {"RequiredImage": "smallstack/hypervisor"}}]
JSON
echo '{"BootDriveLayout": [{"MountPoint": "/", "MinimumFreeBytes": 67108864}], "Encrypt": false}' \
	>"$BIRTH_DIR/layout.json"
dhcp_status() {
	hv_curl showDhcpStatus | sed -n '/<pre>/,/<\/pre>/p' |
		sed 's/.*<pre>//; s/<\/pre>.*//; s/&quot;/"/g; s/&#34;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
}
leftovers() {
	local s
	s=$(dhcp_status)
	echo "leases=$(jq -r '[.Leases[] | select(.Kind == "netboot") | .IpAddress] | join(",")' <<<"$s") files=$(jq -r .NetbootFileSets <<<"$s")"
}

hv_ns "$SS_BIN/hyper-control" -topologyDir="$T" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
	-identityCAfile="$C/idca/ca.pem" -signerCertFile="$C/ca/ca.pem" -signerKeyFile="$C/ca/ca.key" \
	-hypervisorHostname=127.0.0.1 -imageServerHostname="$BIRTH_GW" -imageServerPortNum="$BIRTH_IMGPORT" \
	-storageLayoutFilename="$BIRTH_DIR/layout.json" -randomSeedBytes=64 -netbootTimeout=300s \
	netboot-host "$host" >"$BIRTH_DIR/nb.out" 2>"$BIRTH_DIR/nb.err" &
nb=$!
for ((i = 0; i < 100; i++)); do [ "$(leftovers)" = "leases=$ip files=1" ] && break; sleep 0.2; done
t_expect "netboot-host: the boot server holds the netboot lease and the machine's files" \
	"^leases=$ip files=1\$" leftovers

# Power on: a blank disk first, so the firmware falls through to the NIC's PXE.
birth_disk "$name" 4G || { t_fail "blank disk"; exit 0; }
birth_qemu "$name" disk || { t_fail "QEMU starts"; exit 0; }
if birth_wait "$name" '(^|] )installer: step enrol: begin' 900; then
	t_ok "the machine PXE-boots the installer, which waits in step enrol ($(birth_elapsed "$name") s)"
else
	t_fail "the machine PXE-boots the installer" "$(birth_tail "$name"; tail -3 "$BIRTH_DIR/nb.err" | tr '\n' '|')"
	exit 0
fi
wait "$nb"
rc=$?
t_check "netboot-host exits 0 once the certificate is sent (exit $rc)" test "$rc" -eq 0
for line in "boot server: 127.0.0.1" "waiting for the machine to boot" "netboot acknowledged" \
	"enrolling $host \\($ip:6978\\)" "certificate sent to $host"; do
	t_expect "...progress: $line" "hyper-control: .*$line" cat "$BIRTH_DIR/nb.err"
done
t_expect "...the RequiredImage (a stream) is not an image: a warning only" \
	'warning: image smallstack/hypervisor not found' cat "$BIRTH_DIR/nb.err"
t_expect "the installer accepted the certificate" '(^|] )installer: step enrol: done' cat "${BIRTH_LOG[$name]}"
if birth_wait "$name" '(^|] )installer: (install complete|FAILED)' 900 &&
	grep -qaE '(^|] )installer: install complete' "${BIRTH_LOG[$name]}"; then
	t_ok "the installer installs the appliance ($(birth_elapsed "$name") s)"
else
	t_fail "the installer installs the appliance" "$(birth_tail "$name")"
	exit 0
fi
birth_wait_exit "$name" 120 || birth_stop "$name"
t_expect "the netboot lease is gone at once" '^leases= ' leftovers

# The disk alone: a hypervisor with the enrolled certificate (birth_rpc verifies it
# against the fleet CA for the machine's address).
birth_boot_disk "$name" disk 600 && birth_check_appliance "$name"
hvrpc() { # SERVERNAME CADIR
	hv_ns "$SS_BIN/srpc-testc" -addr="$ip:6976" -serverName="$1" -certFile="$C/admin/admin.cert" \
		-keyFile="$C/admin/admin.key" -CAfile="$C/$2/ca.pem" -timeout=20s call Hypervisor.ListSubnets '{}'
}
t_expect "...its certificate names $host too (DNS SAN)" '"Id":"birthnet"' hvrpc "$host" ca
t_expect_fail "...a client trusting another CA refuses it" 'certificate|verif|x509' hvrpc "$ip" otherca
# The files stay FilesExpiration after the last ACK, raised by the daemon to
# WaitTimeout + 1 s (301 s here).
for ((i = 0; i < 400; i++)); do [ "$(leftovers)" = "leases= files=0" ] && break; sleep 0.5; done
t_expect "neither netboot lease nor files remain" '^leases= files=0$' leftovers
birth_stop "$name"
hv_daemon_stop
