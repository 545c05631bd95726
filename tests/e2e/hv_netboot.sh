#!/usr/bin/env bash
# timeout: 600
# The hypervisor as its own VMs' boot server (netboot.md §4): VMs created through the
# daemon with `vm-control create-vm -enableNetboot` (empty root via -minFreeBytes, no
# VM lease: -dhcpTimeout < 0, as hyper-control netboot-vm) network-boot from that same
# daemon while a NetbootMachine call waits for their two ACKs:
#   1. SeaBIOS + the NIC's iPXE ROM with -httpBoot=false: pxelinux.0, ldlinux.c32,
#      config, kernel and a marker initramfs over the daemon's TFTP;
#   2. OVMF (FirmwareType uefi), in parallel with 1: the UEFI network boot (OVMF runs
#      the NIC's iPXE EFI driver, QEMU's efi-virtio.rom; its DHCP says arch 7) gets
#      pxelinux.7 (a GRUB EFI image here) over TFTP, then kernel + initramfs;
#   3. after a restart with HTTP boot (the default): iPXE gets
#      http://<bridge IP>:<portNum>/boot/boot.ipxe, a script generated from
#      pxelinux.cfg/default, and kernel + initramfs over HTTP on the daemon's port;
#      an OVMF VM beside it boots the same script over HTTP through the iPXE EFI
#      driver (the EFI-stub kernel finds its initramfs by the script's initrd=).
# Each initramfs does its own DHCP (ACK #2) and fetches its per-IP config.json over
# TFTP. Each call returns once the ACKs arrived; afterwards no netboot lease is left.
# EnableNetboot holds for CreateVm's start only: a later start-vm boots from the disk.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VMs"
t_require qemu-system-x86_64 "VMs are QEMU processes"
t_require jq "the DHCP status is read with jq"
t_require grub-mkimage "the UEFI boot loader is a GRUB EFI image"
for f in /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 \
	/usr/share/OVMF/OVMF_CODE_4M.fd /usr/lib/grub/x86_64-efi/efinet.mod; do
	[ -f "$f" ] || { t_skip "hypervisor netboot" "$f missing (pxelinux, syslinux-common, ovmf, grub-efi-amd64-bin)"; exit 0; }
done
kernel=$(ss_test_kernel) || { t_skip "hypervisor netboot" "no kernel in /boot"; exit 0; }

BR=${SS_ID}br SRV=10.108.0.1
hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
hv_bridge "$BR" "$SRV/24"
# No multicast snooping: iPXE's router solicitation reaches the daemon.
hv_ns ip link set "$BR" type bridge mcast_snooping 0
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm

# ---- the boot root (-tftpbootDirectory) ----
root=$HV_DIR/tftpboot
mkdir -p "$root/pxelinux.cfg"
cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$root/"
cp "$kernel" "$root/vmlinuz"
cat >"$HV_DIR/snippet" <<EOF
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 1 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 && echo "SS-DHCP2: ok"
tftp -g -r config.json -l /tmp/config.json $SRV && echo "SS-CONFIG: \$(cat /tmp/config.json)"
EOF
SS_INITRD_MODULES="virtio_pci virtio_net" ss_marker_initrd "$root/initrd.gz" "$HV_DIR/snippet" ||
	{ t_fail "marker initramfs"; exit 0; }
printf 'DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND console=ttyS0 quiet panic=-1\n' \
	>"$root/pxelinux.cfg/default"
# UEFI: the DHCP boot file is pxelinux.<arch> (-networkBootImage pxelinux.%d): a GRUB
# EFI image that loads kernel and initramfs from the TFTP server that booted it.
cat >"$HV_DIR/grub.cfg" <<'EOF'
echo "SS-GRUB: netbooted"
linux (tftp)/vmlinuz console=ttyS0 quiet panic=-1
initrd (tftp)/initrd.gz
boot
EOF
grub-mkimage -O x86_64-efi -o "$root/pxelinux.7" -p '(tftp)/' -c "$HV_DIR/grub.cfg" \
	net efinet tftp linux echo boot normal || { t_fail "GRUB EFI image"; exit 0; }
cp "$root/pxelinux.7" "$root/pxelinux.9"
t_ok "boot root: pxelinux, GRUB EFI, kernel, marker initramfs"

# The VMs' serial logs and the daemon's log stay beside the test log.
keep_logs() {
	local d=$SS_TOP/build/test-logs f
	mkdir -p "$d"
	for f in "$HV_STATE"/VMs/*/bootlog; do
		[ -f "$f" ] && cp "$f" "$d/hv_netboot-$(basename "$(dirname "$f")").bootlog"
	done
	cat "$HV_DIR"/daemon-log/* >"$d/hv_netboot-daemon.log" 2>/dev/null
	return 0
}
t_cleanup keep_logs
start_daemon() {
	hv_daemon_start -virtType="$vt" -stopTimeout=3s -tftpbootDirectory="$root" -initialLogDebugLevel=1 "$@"
}
start_daemon -httpBoot=false || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts with -tftpbootDirectory and -httpBoot=false"

rpc admin Hypervisor.UpdateSubnets "{\"Add\":[{\"Id\":\"nb\",\"IpGateway\":\"$SRV\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"$SRV\"]}]}" >/dev/null
addrs=$(for i in 10 11 12 13; do printf '{"IpAddress":"10.108.0.%d","MacAddress":"52:54:00:6c:00:%02x"},' "$i" "$i"; done)
t_expect "pool of four addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[${addrs%,}]}"

dhcp_status() {
	hv_curl showDhcpStatus | sed -n '/<pre>/,/<\/pre>/p' |
		sed 's/.*<pre>//; s/<\/pre>.*//; s/&quot;/"/g; s/&#34;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
}
netboot_leases() { dhcp_status | jq -r '[.Leases[] | select(.Kind == "netboot") | .IpAddress] | join(",")'; }
b64() { printf %s "$1" | base64 -w0; }
# NetbootMachine in the background (its own timeout: it waits for the boot).
netboot() { # IP MAC NAME OUT
	hv_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -serverName=localhost \
		-certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" -CAfile="$C/ca/ca.pem" \
		-timeout=400s call Hypervisor.NetbootMachine \
		"{\"Address\":{\"IpAddress\":\"$1\",\"MacAddress\":\"$2\"},\"Hostname\":\"$3\",\"NumAcknowledgementsToWaitFor\":2,\"WaitTimeout\":180000000000,\"Files\":{\"config.json\":\"$(b64 "{\"Hostname\": \"$3\"}")\"}}" \
		>"$4" 2>&1 &
}
wait_lease() { # IP: until NetbootMachine's lease is in place
	local i
	for ((i = 0; i < 100; i++)); do [[ ",$(netboot_leases)," == *",$1,"* ]] && return 0; sleep 0.1; done
	return 1
}
create() { # IP [FLAGS]: a netboot VM with an empty root, no DHCP lease of its own
	local ip=$1
	shift
	vmc admin -memory=512M -milliCPUs=500 -minFreeBytes=64M -dhcpTimeout=-1ns -enableNetboot \
		-requestIPs="$ip" -vmTags=Name=nb"${ip##*.}" "$@" create-vm
}
bootlog() { tr -d '\033' <"$HV_STATE/VMs/$1/bootlog" 2>/dev/null; }
daemon_log() { cat "$HV_DIR"/daemon-log/* 2>/dev/null; }
secs_since() { echo "$(date +%s.%N) - $1" | bc; }

# ---- 1 + 2: BIOS over TFTP and UEFI over TFTP, in parallel ----
VB=10.108.0.10 MB=52:54:00:6c:00:0a VU=10.108.0.11 MU=52:54:00:6c:00:0b
netboot "$VB" "$MB" nb-bios "$HV_DIR/nb-bios.out"
NB_BIOS=$!
netboot "$VU" "$MU" nb-uefi "$HV_DIR/nb-uefi.out"
NB_UEFI=$!
wait_lease "$VB" && wait_lease "$VU"
t_expect "both netboot leases are in place before the VMs exist" "^($VB,$VU|$VU,$VB)\$" netboot_leases
start=$(date +%s.%N)
t_expect "create-vm -enableNetboot (BIOS) gets the requested address" "^$VB\$" create "$VB"
t_expect "create-vm -enableNetboot -firmwareType=uefi" "^$VU\$" create "$VU" -firmwareType=uefi
uuid=$(cut -c1-8 "$HV_STATE/uuid")
t_expect "the BIOS VM's domain boots from the network, then the disk" \
	"<boot dev='network'/>.*<boot dev='hd'/>" bash -c "virsh -q -c '$HV_URI' dumpxml hv-$uuid-$VB | tr -d '\n'"
vm_leases() { dhcp_status | jq '[.Leases[] | select(.Kind == "vm")] | length'; }
t_expect "no VM lease for either VM (DhcpTimeout < 0): only the netboot leases" '^0$' vm_leases

wait "$NB_BIOS"
echo "# BIOS: create to NetbootMachine's return: $(secs_since "$start") s ($vt)"
t_expect "BIOS: NetbootMachine returns success after the two ACKs" '^\{"Error":""\}$' cat "$HV_DIR/nb-bios.out"
wait "$NB_UEFI"
echo "# UEFI: create to NetbootMachine's return: $(secs_since "$start") s ($vt)"
t_expect "UEFI: NetbootMachine returns success after the two ACKs" '^\{"Error":""\}$' cat "$HV_DIR/nb-uefi.out"
t_expect "...and no netboot lease is left" '^$' netboot_leases
ss_wait_for "$HV_STATE/VMs/$VB/bootlog" 'SS-CONFIG' 120 || true
ss_wait_for "$HV_STATE/VMs/$VU/bootlog" 'SS-CONFIG' 120 || true
t_expect "BIOS: iPXE fetches pxelinux.0, the DHCP boot file, over the daemon's TFTP" \
	"tftpd\\($VB:pxelinux.0\\): [0-9]+ bytes sent" daemon_log
t_expect "BIOS: pxelinux loads ldlinux.c32 and the initramfs over the daemon's TFTP" \
	"tftpd\\($VB:initrd.gz\\): [0-9]+ bytes sent" daemon_log
t_expect "BIOS: the kernel boots the marker initramfs" "SS-MARKER: booted" bootlog "$VB"
t_expect "BIOS: its own DHCP (the second ACK)" "SS-DHCP2: ok" bootlog "$VB"
t_expect "BIOS: its per-IP config.json over TFTP" 'SS-CONFIG: \{"Hostname": "nb-bios"\}' bootlog "$VB"
t_expect "UEFI: the firmware fetches pxelinux.<arch> (GRUB EFI) over TFTP" \
	"tftpd\\($VU:pxelinux\\.(7|9)\\): [0-9]+ bytes sent" daemon_log
t_expect "UEFI: GRUB loads the initramfs over TFTP" "tftpd\\($VU:initrd.gz\\): [0-9]+ bytes sent" daemon_log
t_expect "UEFI: the kernel boots the marker initramfs" "SS-MARKER: booted" bootlog "$VU"
t_expect "UEFI: its own DHCP (the second ACK)" "SS-DHCP2: ok" bootlog "$VU"
t_expect "UEFI: its per-IP config.json over TFTP" 'SS-CONFIG: \{"Hostname": "nb-uefi"\}' bootlog "$VU"

# ---- 3: iPXE over HTTP on the daemon's port ----
state_of() { vmc admin get-vm-info "$1" | jq -r .State; }
for ((i = 0; i < 100; i++)); do [ "$(state_of "$VB")" = stopped ] && break; sleep 0.2; done
t_expect "the BIOS VM powered off at the end of its initramfs (stopped)" '^stopped$' state_of "$VB"
# EnableNetboot is for CreateVm's start only, as in the original: a later start boots
# from the disk.
vmc admin start-vm "$VB" >/dev/null 2>&1
t_expect "a later start-vm boots from the disk only" "^<boot dev='hd'/>\$" \
	bash -c "virsh -q -c '$HV_URI' dumpxml hv-$uuid-$VB | grep -o \"<boot dev='[a-z]*'/>\""
vmc admin destroy-vm "$VB" >/dev/null 2>&1
vmc admin destroy-vm "$VU" >/dev/null 2>&1
hv_daemon_stop
start_daemon || { t_fail "daemon restarts with HTTP boot" "$(tail -5 "$HV_LOG")"; exit 0; }
t_expect "after the restart no netboot lease came back" '^$' netboot_leases
VH=10.108.0.12 MH=52:54:00:6c:00:0c VE=10.108.0.13 ME=52:54:00:6c:00:0d
netboot "$VH" "$MH" nb-http "$HV_DIR/nb-http.out"
NB_HTTP=$!
netboot "$VE" "$ME" nb-efihttp "$HV_DIR/nb-efihttp.out"
NB_EFIHTTP=$!
wait_lease "$VH" && wait_lease "$VE"
start=$(date +%s.%N)
t_expect "create-vm -enableNetboot (BIOS, HTTP boot)" "^$VH\$" create "$VH"
t_expect "create-vm -enableNetboot -firmwareType=uefi (HTTP boot on)" "^$VE\$" create "$VE" -firmwareType=uefi
wait "$NB_HTTP"
echo "# iPXE/HTTP: create to NetbootMachine's return: $(secs_since "$start") s ($vt)"
t_expect "HTTP: NetbootMachine returns success after the two ACKs" '^\{"Error":""\}$' cat "$HV_DIR/nb-http.out"
wait "$NB_EFIHTTP"
echo "# UEFI, HTTP boot on: create to NetbootMachine's return: $(secs_since "$start") s ($vt)"
t_expect "UEFI (HTTP boot on): NetbootMachine returns success" '^\{"Error":""\}$' cat "$HV_DIR/nb-efihttp.out"
ss_wait_for "$HV_STATE/VMs/$VH/bootlog" 'SS-CONFIG' 120 || true
ss_wait_for "$HV_STATE/VMs/$VE/bootlog" 'SS-CONFIG' 120 || true
t_expect "HTTP: the kernel boots the marker initramfs" "SS-MARKER: booted" bootlog "$VH"
t_expect "HTTP: its per-IP config.json over TFTP" 'SS-CONFIG: \{"Hostname": "nb-http"\}' bootlog "$VH"
no_tftp_boot() { ! daemon_log | grep -Eq "tftpd\\($1:(vmlinuz|initrd.gz|pxelinux\\.[0-9]+)\\)"; }
t_check "HTTP: boot loader, kernel and initramfs did not come over TFTP" no_tftp_boot "$VH"
req=$(dhcp_status | jq -r .Counters.http_requests)
t_check "HTTP: boot.ipxe, kernel and initramfs came over HTTP ($req requests)" test "${req:-0}" -ge 3
t_expect "UEFI (HTTP boot on): the kernel boots the marker initramfs" "SS-MARKER: booted" bootlog "$VE"
t_expect "UEFI (HTTP boot on): its per-IP config.json" 'SS-CONFIG: \{"Hostname": "nb-efihttp"\}' bootlog "$VE"
# Which client did the firmware's network boot: the NIC's iPXE EFI driver is
# recognised and chains to HTTP (QEMU's ROMs today); OVMF's own PXE client would stay
# on TFTP (a NIC without an iPXE ROM).
if no_tftp_boot "$VE"; then
	echo "# UEFI with HTTP boot on: iPXE (the NIC's EFI driver) booted over HTTP"
	t_check "UEFI (HTTP boot on): its boot files also came over HTTP ($req requests)" test "${req:-0}" -ge 6
else
	echo "# UEFI with HTTP boot on: the firmware's PXE client booted over TFTP"
	t_expect "UEFI (HTTP boot on): the GRUB EFI image over TFTP" "tftpd\\($VE:pxelinux\\.(7|9)\\)" daemon_log
fi
t_expect "...and no netboot lease is left" '^$' netboot_leases
hv_daemon_stop
