#!/usr/bin/env bash
# timeout: 240
# hyper-control's netboot commands against real parts: write-netboot-files from a
# topology (-topologyDir) with every file checked byte for byte (config.json through
# jq, resolv.conf, storage-layout.json for the default, -encrypt=false and -useKexec,
# imagename, imageserver, CA.pem, IdentityCA.pem, the -netbootFiles), a RequiredImage
# the real imageserver does not have (a warning), the refusals of spec §4.3 and a
# subdirectory in dirname (nothing changed); then netboot-machine against a real
# hypervisor daemon with a DHCP client in a namespace standing in for the PXE ROM and
# the installer (two ACKs, the per-IP file over TFTP), and its timeout, after which
# neither lease nor files remain.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/srpc.sh"
t_require jq "config.json is read with jq"
t_require openssl "test certificates are made with openssl"
t_require udhcpc "busybox udhcpc stands in for the PXE ROM and the installer"
t_require curl "the daemon's status page is read with curl"

BR=${SS_ID}br SRV=10.111.0.1 IP=10.111.0.20 MAC=52:54:00:6b:00:14
hv_setup "$BR" "$SRV/24" || exit 0
HC=$SS_BIN/hyper-control
T=$HV_DIR/topo
mkdir -p "$T/Lab" "$T/Vlan"
cat >"$T/Lab/subnets.json" <<JSON
[{"Id": "lab", "IpGateway": "$SRV", "IpMask": "255.255.255.0", "DomainName": "lab.test",
  "DomainNameServers": ["$SRV", "10.111.0.2"]}]
JSON
cat >"$T/Lab/machines.json" <<JSON
[{"Hostname": "m1", "HostIpAddress": "$IP", "HostMacAddress": "$MAC"},
 {"Hostname": "nomac", "HostIpAddress": "10.111.0.21"},
 {"Hostname": "elsewhere", "HostIpAddress": "10.99.0.5", "HostMacAddress": "52:54:00:6b:00:16"},
 {"Hostname": "tagged", "HostIpAddress": "10.111.0.23", "HostMacAddress": "52:54:00:6b:00:17",
  "Tags": {"RequiredImage": "lab/missing/1"}}]
JSON
echo '[{"Id": "v10", "IpGateway": "10.112.0.1", "IpMask": "255.255.255.0", "VlanId": 10}]' \
	>"$T/Vlan/subnets.json"
echo '[{"Hostname": "vlanonly", "HostIpAddress": "10.112.0.5", "HostMacAddress": "52:54:00:6b:00:18"}]' \
	>"$T/Vlan/machines.json"
echo "pxelinux bytes" >"$HV_DIR/extra.bin"
hc() {
	"$HC" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -identityCAfile="$C/idca/ca.pem" \
		-topologyDir="$T" -imageServerHostname=images.lab.test -imageServerPortNum=7001 "$@"
}
D=$HV_DIR/out

t_expect "write-netboot-files m1" '' hc -netbootFiles=pxelinux.0="$HV_DIR/extra.bin" \
	write-netboot-files m1 "$D"
t_expect "...exactly the expected files" \
	'^CA.pem IdentityCA.pem config.json imageserver pxelinux.0 resolv.conf storage-layout.json $' \
	bash -c "cd '$D' && ls | LC_ALL=C sort | tr '\n' ' '"
t_expect "...dirname 0755, the files 0644" '^755 644 644 644 644 644 644 644 $' \
	bash -c "{ stat -c %a '$D'; cd '$D' && stat -c %a *; } | tr '\n' ' '"
t_expect "config.json: the machine's GetMachineInfoResponse" \
	'^m1 10.111.0.20 52:54:00:6b:00:14 lab lab.test 10.111.0.2$' \
	jq -r '[.Machine.Hostname, .Machine.HostIpAddress, .Machine.HostMacAddress, .Subnets[0].Id, .Subnets[0].DomainName, .Subnets[0].DomainNameServers[1]] | join(" ")' "$D/config.json"
t_expect "config.json: 4-space indent, one final newline" '^ok$' \
	bash -c "sed -n 2p '$D/config.json' | grep -q '^    \"[A-Z]' && [ \"\$(tail -c1 '$D/config.json' | od -An -tx1 | tr -d ' ')\" = 0a ] && echo ok"
t_expect "resolv.conf: exact bytes" '^ok$' bash -c \
	"printf 'domain lab.test\nsearch lab.test\n\nnameserver $SRV\nnameserver 10.111.0.2\n' | cmp - '$D/resolv.conf' && echo ok"
t_expect "imageserver: host:port + newline" '^ok$' bash -c \
	"printf 'images.lab.test:7001\n' | cmp - '$D/imageserver' && echo ok"
t_check "no imagename without RequiredImage or -targetImageName" test ! -e "$D/imagename"
t_check "CA.pem is -CAfile" cmp "$C/ca/ca.pem" "$D/CA.pem"
t_check "IdentityCA.pem is -identityCAfile" cmp "$C/idca/ca.pem" "$D/IdentityCA.pem"
t_check "the -netbootFiles entry" cmp "$HV_DIR/extra.bin" "$D/pxelinux.0"
t_check "no random-seed, no enrol-token, no key" bash -c "cd '$D' && ! ls random-seed enrol-token key.pem 2>/dev/null"

layout() { # TAIL: the default layout with TAIL before the closing brace
	printf '{\n    "BootDriveLayout": [\n'
	printf '        {\n            "MountPoint": "/",\n            "MinimumFreeBytes": 2147483648\n        },\n'
	printf '        {\n            "MountPoint": "/home",\n            "MinimumFreeBytes": 1073741824\n        },\n'
	printf '        {\n            "MountPoint": "/var/log",\n            "MinimumFreeBytes": 536870912\n        }\n'
	printf '    ],\n    "ExtraMountPointsBasename": "/data/"%s\n}\n' "$1"
}
layout $',\n    "Encrypt": true' >"$HV_DIR/l.default"
layout '' >"$HV_DIR/l.noencrypt"
layout $',\n    "Encrypt": true,\n    "UseKexec": true' >"$HV_DIR/l.kexec"
t_check "storage-layout.json: the default, exact bytes" cmp "$HV_DIR/l.default" "$D/storage-layout.json"
hc -encrypt=false write-netboot-files m1 "$D" >/dev/null 2>&1
t_check "storage-layout.json with -encrypt=false: Encrypt left out" cmp "$HV_DIR/l.noencrypt" "$D/storage-layout.json"
hc -useKexec write-netboot-files m1 "$D" >/dev/null 2>&1
t_check "storage-layout.json with -useKexec" cmp "$HV_DIR/l.kexec" "$D/storage-layout.json"
t_check "...and the earlier -netbootFiles entry was removed (dirname emptied)" test ! -e "$D/pxelinux.0"
echo '{"BootDriveLayout": [{"MountPoint": "/", "MinimumFreeBytes": 1}]}' >"$HV_DIR/layout.json"
hc -storageLayoutFilename="$HV_DIR/layout.json" write-netboot-files m1 "$D" >/dev/null 2>&1
t_check "-storageLayoutFilename: its bytes as they are" cmp "$HV_DIR/layout.json" "$D/storage-layout.json"

# RequiredImage and -targetImageName are checked against the real imageserver.
mkdir -p "$HV_DIR/is"
ln -s "$C/ca/ca.pem" "$HV_DIR/is/CA.pem"
ln -s "$C/idca/ca.pem" "$HV_DIR/is/IdentityCA.pem"
ln -s "$C/server/cert.pem" "$HV_DIR/is/srv.cert"
ln -s "$C/server/key.pem" "$HV_DIR/is/srv.key"
if srpc_imageserver "$HV_DIR/is" "$HV_DIR/is/srv" srv ISPORT; then
	his() {
		"$HC" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -topologyDir="$T" \
			-imageServerHostname=127.0.0.1 -imageServerPortNum="$ISPORT" "$@"
	}
	t_expect "RequiredImage missing on the imageserver: a warning, the files written" \
		'warning: image lab/missing/1 not found' his write-netboot-files tagged "$D"
	t_expect "...imagename is the tag + newline" '^lab/missing/1$' cat "$D/imagename"
	t_expect "...imageserver names -imageServerHostname" "^127.0.0.1:$ISPORT\$" cat "$D/imageserver"
	t_expect "-targetImageName replaces the tag (checked too)" 'warning: image lab/other/2 not found' \
		his -targetImageName=lab/other/2 write-netboot-files tagged "$D"
	t_expect "...imagename is -targetImageName" '^lab/other/2$' cat "$D/imagename"
else
	t_fail "the imageserver starts"
fi

# Refusals: exit 1, the spec's sentence, nothing changed.
touch "$D/marker"
t_expect_fail --exit=1 "no non-VLAN subnets" '^error writing netboot files: no non-VLAN subnets known$' \
	hc write-netboot-files vlanonly "$D"
t_expect_fail --exit=1 "no MAC" '^error writing netboot files: no IP and MAC addresses known for host$' \
	hc write-netboot-files nomac "$D"
t_expect_fail --exit=1 "no entry in a subnet" \
	'^error writing netboot files: no IP and MAC addresses matching a subnet$' \
	hc write-netboot-files elsewhere "$D"
t_expect_fail --exit=1 "unknown machine" 'machine: ghost not found in topology' \
	hc write-netboot-files ghost "$D"
mkdir "$D/sub"
t_expect_fail --exit=1 "a subdirectory in dirname" "$D/sub is a directory" hc write-netboot-files m1 "$D"
t_check "...nothing changed by the refusals" test -e "$D/marker" -a -d "$D/sub" -a -e "$D/imagename"
t_expect_fail --exit=2 "write-netboot-files without dirname: usage" 'usage' hc write-netboot-files m1

# ---- netboot-machine against the real hypervisor ----
root=$HV_DIR/tftpboot
mkdir -p "$root/pxelinux.cfg"
echo "pxelinux-bytes" >"$root/pxelinux.0"
printf 'DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n' >"$root/pxelinux.cfg/default"
hv_daemon_start -virtType=qemu -stopTimeout=2s -tftpbootDirectory="$root" ||
	{ t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_expect "subnet lab on the daemon" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	"{\"Add\":[{\"Id\":\"lab\",\"IpGateway\":\"$SRV\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"$SRV\"]}]}"
HV_MACHINE_CONFIGURE=1
hv_dhcp_machine "$BR" "$MAC"
lease() { hv_lease -O bootfile "$@"; }
dhcp_status() {
	hv_curl showDhcpStatus | sed -n '/<pre>/,/<\/pre>/p' |
		sed 's/.*<pre>//; s/<\/pre>.*//; s/&quot;/"/g; s/&#34;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
}
both() {
	local s
	s=$(dhcp_status)
	echo "$(jq -r '[.Leases[] | select(.Kind == "netboot") | .IpAddress] | join(",")' <<<"$s") $(jq -r .NetbootFileSets <<<"$s")"
}
hcn() { hv_ns "$HC" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -hypervisorHostname=127.0.0.1 "$@"; }

echo '{"Hostname":"m1"}' >"$HV_DIR/cfg.json"
hcn -netbootFiles=config.json="$HV_DIR/cfg.json" -netbootTimeout=20s -netbootFilesTimeout=1s \
	netboot-machine "$MAC" "$IP" m1 >"$HV_DIR/nb.out" 2>&1 &
NB=$!
t_cleanup kill "$NB"
for ((i = 0; i < 100; i++)); do [ "$(both)" = "$IP 1" ] && break; sleep 0.1; done
t_expect "netboot-machine: the netboot lease and the file set while it waits" "^$IP 1\$" both
t_expect "ACK #1 (the PXE ROM): hostname and boot file" "^bootfile=pxelinux\\.0 hostname=m1 ip=$IP \\.\$" lease
t_expect "...the -netbootFiles file over TFTP" '^\{"Hostname":"m1"\}$' \
	ip netns exec "$G" sh -c "cd /tmp && busybox tftp -g -r config.json -l - $SRV"
t_check "...one ACK of two: still waiting" kill -0 "$NB"
t_expect "ACK #2 (the installer)" "ip=$IP" lease
wait "$NB"
rc=$?
t_check "netboot-machine exits 0 after two ACKs (exit $rc)" test "$rc" -eq 0
t_expect "...its progress lines" 'waiting for the machine to boot' cat "$HV_DIR/nb.out"
t_expect "...and the acknowledgement" 'hyper-control: netboot acknowledged' cat "$HV_DIR/nb.out"
t_expect "...the lease is gone at once" "^ 1\$" both

t0=$(date +%s)
t_expect_fail --exit=1 "netboot-machine: nothing boots, the timeout" \
	'^error netbooting machine: timed out receiving lease acknowledgement$' \
	hcn -netbootTimeout=2s netboot-machine 52:54:00:6b:00:99 10.111.0.30
secs=$(($(date +%s) - t0))
t_check "...after about -netbootTimeout ($secs s)" test "$secs" -lt 10
# The first call's files stay FilesExpiration after its last ACK: at least its wait + 1 s
# (21 s; rpc_netboot.c nb_times), so wait by the clock, not by a count of tries.
for ((end = SECONDS + 40; SECONDS < end; )); do [ "$(both)" = " 0" ] && break; sleep 0.2; done
t_expect "...neither lease nor files remain" '^ 0$' both
t_expect_fail --exit=2 "netboot-machine with a bad MAC: usage" 'bad MAC address' \
	hcn netboot-machine 52:54:zz 10.111.0.30
t_expect_fail --exit=1 "netboot-machine outside every subnet" 'no subnet found for 10.9.9.9' \
	hcn netboot-machine 52:54:00:6b:00:98 10.9.9.9
t_expect_fail --exit=1 "netboot-host without a signer: refused before anything" \
	'-signerCertFile and -signerKeyFile are needed' hcn -topologyDir="$T" netboot-host m1
t_expect_fail --exit=1 "netboot-vm without -subnetIDs" 'no -subnetIDs given' hcn netboot-vm
hv_daemon_stop
