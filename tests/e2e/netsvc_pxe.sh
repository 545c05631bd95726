# timeout: 240
# shellcheck shell=bash
# Network boot for real: a QEMU VM with its iPXE ROM, plugged through a tap into a
# bridge of a private namespace where ss-netsvc serves a NetbootMachine registration
# (temporary lease, per-IP config.json, wait for 2 ACKs).
#   1. TFTP path: iPXE gets our lease, loads pxelinux.0 + ldlinux.c32 + config over our
#      TFTP, then the kernel and a marker initramfs; the initramfs does its own DHCP
#      (ACK #2) and fetches config.json over TFTP (per-IP, MAC-bound file).
#   2. HTTP path: iPXE is recognised and gets the boot.ipxe URL; the script is
#      generated from pxelinux.cfg/default and kernel + initrd come over HTTP.
# Both answer iPXE's IPv6 router solicitation (else it waits ~16 s for IPv6).
set -eu
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/qemu.sh"
. "$SS_TOP/tests/lib/netsvc.sh"
t_require qemu-system-x86_64 "the VM that netboots"
t_require jq "reads the server's /status"
for f in /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32; do
	[ -f "$f" ] || { t_skip "PXE boot" "$f missing (pxelinux, syslinux-common)"; exit 0; }
done
kernel=$(ss_test_kernel) || { t_skip "PXE boot" "no kernel in /boot"; exit 0; }

H=${SS_ID}s BR=${SS_ID}br TAP=${SS_ID}t0 MAC=52:54:00:77:02:50 IP=10.77.2.50
tmp=$(mktemp -d "/tmp/${SS_ID}pxe.XXXXXX")
t_cleanup rm -rf "$tmp"
root=$tmp/root
mkdir -p "$root/pxelinux.cfg"
cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$root/"
cp "$kernel" "$root/vmlinuz"
cat >"$tmp/snippet" <<'EOF'
ip link set eth0 up
udhcpc -i eth0 -n -q -t 5 -T 1 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 && echo "SS-DHCP2: ok"
tftp -g -r config.json -l /tmp/config.json 10.77.2.1 && echo "SS-CONFIG: $(cat /tmp/config.json)"
EOF
SS_INITRD_MODULES="virtio_pci virtio_net" ss_marker_initrd "$root/initrd.gz" "$tmp/snippet"
printf 'DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND console=ttyS0 quiet panic=-1\n' \
	>"$root/pxelinux.cfg/default"

nsv_host "$H" "$BR" 10.77.2.1/24
ip -n "$H" tuntap add "$TAP" mode tap
ip -n "$H" link set "$TAP" master "$BR" up

config() { # HTTP_BOOT
	cat <<EOF
{"tftp_root": "$root", "interfaces": ["$BR"], "http_port": 8070, "http_boot": $1, "send_ra": true,
 "subnets": [{"Id": "lan", "IpGateway": "10.77.2.1", "IpMask": "255.255.255.0", "DomainNameServers": ["10.77.2.1"]}],
 "leases": [{"mac": "$MAC", "ip": "$IP", "hostname": "pxe", "kind": "netboot",
             "wait_acks": 2, "wait_timeout": 150, "files_expiration": 150,
             "files": {"config.json": "{\"Hostname\": \"pxe\"}"}}]}
EOF
}

boot() { # NAME: runs the VM until it powers off; prints the seconds it took
	local start end
	start=$(date +%s.%N)
	timeout -k 5 150 ip netns exec "$H" qemu-system-x86_64 -accel "$(ss_qemu_accel)" \
		-cpu "$(ss_qemu_cpu)" -m 512 -nodefaults -nographic -no-reboot -name "${SS_ID}pxe" \
		-serial "file:$tmp/$1.serial" -boot n \
		-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$MAC" </dev/null >"$tmp/$1.qemu" 2>&1 || true
	end=$(date +%s.%N)
	echo "$end - $start" | bc
}

serial() { tr -d '\033' <"$tmp/$1.serial"; }

# ---- 1. pxelinux over TFTP ----
config false >"$tmp/tftp.json"
nsv_start "$H" "$tmp/tftp.json" "$tmp/tftp.log"
secs=$(boot tftp)
echo "# PXE boot over TFTP to poweroff: ${secs} s ($(ss_qemu_accel))"
t_expect "iPXE gets our lease and pxelinux.0 as boot file" "Filename: pxelinux.0" serial tftp
t_expect "pxelinux and ldlinux.c32 come over our TFTP" "tftpd\\($IP:ldlinux.c32\\): [0-9]+ bytes sent" cat "$tmp/tftp.log"
t_expect "kernel and initrd come over our TFTP" "tftpd\\($IP:initrd.gz\\): [0-9]+ bytes sent" cat "$tmp/tftp.log"
t_expect "the kernel boots the marker initramfs" "SS-MARKER: booted" serial tftp
t_expect "the booted system gets its lease again (second ACK)" "SS-DHCP2: ok" serial tftp
t_expect "it fetches its per-IP config.json over TFTP" 'SS-CONFIG: \{"Hostname": "pxe"\}' serial tftp
t_expect "NetbootMachine's wait sees both acknowledgements" "netboot $IP: 2 acknowledgements" cat "$tmp/tftp.log"
ra=$(nsv_counter "$H" 10.77.2.1 8070 ra_sent)
t_check "iPXE's router solicitation was answered ($ra RAs)" test "${ra:-0}" -ge 1
t_check "iPXE did not wait for IPv6 autoconfiguration" bash -c "! grep -aq 'Configuring (net0 [0-9a-f:]*)\\.\\.\\.\\.\\.\\.' '$tmp/tftp.serial'"
nsv_stop

# ---- 2. iPXE recognised: script, kernel and initrd over HTTP ----
config true >"$tmp/http.json"
nsv_start "$H" "$tmp/http.json" "$tmp/http.log"
secs=$(boot http)
echo "# iPXE boot over HTTP to poweroff: ${secs} s ($(ss_qemu_accel))"
t_expect "iPXE gets the script URL instead of pxelinux" "Filename: http://10.77.2.1:8070/boot/boot.ipxe" serial http
t_expect "the generated script is run" "boot.ipxe : [0-9]+ bytes \\[script\\]" serial http
t_expect "the kernel boots the marker initramfs" "SS-MARKER: booted" serial http
t_expect "the booted system fetches its config.json" 'SS-CONFIG: \{"Hostname": "pxe"\}' serial http
t_check "kernel and initrd did not come over TFTP" bash -c "! grep -q 'tftpd($IP:\\(vmlinuz\\|initrd.gz\\|pxelinux.0\\))' '$tmp/http.log'"
req=$(nsv_counter "$H" 10.77.2.1 8070 http_requests)
t_check "they came over HTTP ($req requests)" test "${req:-0}" -ge 3
t_expect "NetbootMachine's wait sees both acknowledgements" "netboot $IP: 2 acknowledgements" cat "$tmp/http.log"
