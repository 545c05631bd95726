#!/usr/bin/env bash
# timeout: 1800
# parallel: birth
# Birth by PXE through our hypervisor daemon: the daemon (private libvirt, its bridge
# shared with a real imageserver) serves Hypervisor.NetbootMachine with the installer
# image (build/images/pxe as -tftpbootDirectory) and the machine's files: config.json,
# imagename, imageserver, storage-layout.json, CA.pem, IdentityCA.pem and a one-time
# enrol-token, but no key. A VM created with -enableNetboot boots the installer by
# PXE; it waits in step "enrol" until tests/helpers/enrol_testc (hyper-control's part)
# has fetched its CSR, checked the Mac and the TLS key, and set the certificate signed
# by the fleet CA; then it installs. Restarted from its disk alone (start-vm), the
# installed hypervisor answers RPC with the configured hostname and subnets.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "birth by PXE" "$why"; exit 0; }
t_require libvirtd "the daemon's VMs run under a private libvirtd"
[ -x "$SS_BIN/enrol-testc" ] || { t_skip "birth by PXE" "$SS_BIN/enrol-testc missing (make tests)"; exit 0; }
[ -f "$BIRTH_IMAGES/pxe/pxelinux.0" ] || { t_skip "birth by PXE" "no PXE tree in $BIRTH_IMAGES/pxe"; exit 0; }
birth_setup libvirt || { t_fail "birth environment (libvirt, namespace, certificates, imageserver, images)"; exit 0; }
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm

# The boot root: the published PXE tree, test mode on every menu.
root=$HV_DIR/tftpboot
cp -r "$BIRTH_IMAGES/pxe" "$root"
sed -i 's/^\(  APPEND .*\)/\1 ss.test=1/' "$root/pxelinux.cfg/default"
[ -f "$root/grub/grub.cfg" ] && sed -i 's/^\(linux .*\)/\1 ss.test=1/' "$root/grub/grub.cfg"
[ -f "$root/boot.ipxe" ] && sed -i 's/^\(kernel .*\)/\1 ss.test=1/' "$root/boot.ipxe"
hv_daemon_start -virtType="$vt" -stopTimeout=5s -tftpbootDirectory="$root" -initialLogDebugLevel=1 ||
	{ t_fail "hypervisor daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "hypervisor daemon with the PXE tree, imageserver with the images"

birth_machine pxe 5 default || { t_fail "machine configuration"; exit 0; }
ip=${BIRTH_IP[pxe]} mac=${BIRTH_MAC[pxe]} host=${BIRTH_HOST[pxe]}
t_expect "the daemon's subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	"{\"Add\":[{\"Id\":\"birthnet\",\"IpGateway\":\"$BIRTH_GW\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"$BIRTH_GW\"]}]}"
t_expect "the machine's address in the daemon's pool" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	"{\"AddressesToAdd\":[{\"IpAddress\":\"$ip\",\"MacAddress\":\"$mac\"}]}"

# The files of a PXE birth: no cert.pem/key.pem, a one-time token instead.
cfg=$BIRTH_DIR/pxe/cfg
rm -f "$cfg/cert.pem" "$cfg/key.pem"
openssl rand -hex 32 >"$cfg/enrol-token"
files=
for f in config.json imagename imageserver storage-layout.json CA.pem IdentityCA.pem enrol-token; do
	files="$files\"$f\":\"$(base64 -w0 <"$cfg/$f")\","
done
hv_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -serverName=localhost \
	-certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" -CAfile="$C/ca/ca.pem" \
	-timeout=900s call Hypervisor.NetbootMachine \
	"{\"Address\":{\"IpAddress\":\"$ip\",\"MacAddress\":\"$mac\"},\"Hostname\":\"$host\",\"NumAcknowledgementsToWaitFor\":2,\"WaitTimeout\":600000000000,\"Files\":{${files%,}}}" \
	>"$BIRTH_DIR/pxe/netboot.out" 2>&1 &
nb=$!
t_cleanup kill "$nb"
for ((i = 0; i < 100; i++)); do
	hv_curl showDhcpStatus | grep -q "$ip" && break
	sleep 0.1
done

# The VM: an empty 4 GiB disk, network boot for this start, no lease of its own.
BIRTH_T0[pxe]=$EPOCHREALTIME
t_expect "create-vm -enableNetboot" "^$ip\$" vmc admin -memory="${BIRTH_MEM}M" -milliCPUs=2000 \
	-minFreeBytes=4G -dhcpTimeout=-1ns -enableNetboot -requestIPs="$ip" -vmTags=Name=birth-pxe create-vm
bootlog=$HV_STATE/VMs/$ip/bootlog
BIRTH_LOG[pxe]=$bootlog
BIRTH_RUN[pxe]=1
echo "${BIRTH_T0[pxe]}" >"$bootlog.t0"
# birth_wait's QEMU: libvirt's process for this domain.
qpid() { pgrep -f "qemu-system.*-name guest=hv-[0-9a-f]*-$ip" | head -1; }
for ((i = 0; i < 50; i++)); do [ -n "$(qpid)" ] && break; sleep 0.2; done
qpid >"$BIRTH_DIR/pxe/qemu.pid"
_birth_stamp "$(cat "$BIRTH_DIR/pxe/qemu.pid")" "$bootlog"

if birth_wait pxe '(^|] )installer: step enrol: begin' 600; then
	t_ok "the netbooted installer waits in step enrol ($(birth_elapsed pxe) s)"
else
	t_fail "the netbooted installer waits in step enrol" "$(birth_tail pxe)"
	exit 0
fi
t_expect "NetbootMachine returned after the two ACKs" '^\{"Error":""\}$' cat "$BIRTH_DIR/pxe/netboot.out"
# hyper-control's part: CSR + Mac, the TLS key, the certificate signed by the fleet CA.
t_check "enrol-testc enrols the machine" hv_ns "$SS_BIN/enrol-testc" -address="$ip:6978" \
	-tokenFile="$cfg/enrol-token" -hostname="$host" -ip="$ip" -caCert="$C/ca/ca.pem" \
	-caKey="$C/ca/ca.key" -identityCaFile="$C/idca/ca.pem" -certFile="$C/admin/admin.cert" \
	-keyFile="$C/admin/admin.key" -timeout=60
if birth_wait pxe '(^|] )installer: (install complete|FAILED)' 900 && grep -qaE '(^|] )installer: install complete' "$bootlog"; then
	t_ok "the installer installs after the enrolment ($(birth_elapsed pxe) s)"
else
	t_fail "the installer installs after the enrolment" "$(birth_tail pxe)"
	exit 0
fi
sleep 0.5
stages=$(birth_stages "$bootlog" | tr '\n' ' ')
echo "# pxe install stages: $stages"
# shellcheck disable=SC2086 # pairs of words
birth_bench pxe $stages install_total "$(_birth_secs "${BIRTH_T0[pxe]}" "$EPOCHREALTIME")"

# Restart from the disk alone: EnableNetboot held for CreateVm's start only.
vmc admin stop-vm "$ip" >/dev/null 2>&1 || vmc admin destroy-vm "$ip" >/dev/null 2>&1
for ((i = 0; i < 100; i++)); do [ "$(vmc admin get-vm-info "$ip" | jq -r .State)" = stopped ] && break; sleep 0.3; done
BIRTH_T0[pxe]=$EPOCHREALTIME
t_check "start-vm (from the disk alone)" vmc admin start-vm "$ip"
for ((i = 0; i < 50; i++)); do [ -n "$(qpid)" ] && break; sleep 0.2; done
qpid >"$BIRTH_DIR/pxe/qemu.pid"
_birth_stamp "$(cat "$BIRTH_DIR/pxe/qemu.pid")" "$bootlog" more
if birth_wait pxe '(^|] )hypervisor-appliance: ready' 600; then
	t_ok "pxe: the disk alone boots the appliance ($(birth_elapsed pxe) s)"
else
	t_fail "pxe: the disk alone boots the appliance" "$(birth_tail pxe)"
	exit 0
fi
boot_order() { virsh -q -c "$HV_URI" dumpxml "$(virsh -q -c "$HV_URI" list --name | grep -- "-$ip\$")" | grep -o "<boot dev='[a-z]*'/>"; }
t_expect "pxe: after the restart the domain boots from the disk only" "^<boot dev='hd'/>\$" boot_order
if birth_wait_rpc pxe 300; then
	t_ok "pxe: the installed hypervisor answers RPC"
	birth_bench pxe disk_ready "$(birth_stages "$bootlog" "${BIRTH_T0[pxe]}" | sed -n 's/^ready //p')" \
		boot_rpc "$(_birth_secs "${BIRTH_T0[pxe]}" "$BIRTH_RPC_AT")"
else
	t_fail "pxe: the installed hypervisor answers RPC"
fi
birth_check_appliance pxe
birth_bench_line pxe pxe
vmc admin destroy-vm "$ip" >/dev/null 2>&1
hv_daemon_stop
