#!/usr/bin/env bash
# timeout: 1500
# parallel: birth
# Birth from the per-machine ISO written to a USB stick (usb-storage, SeaBIOS): the
# installer reads its configuration from the stick, installs onto the blank virtio
# disk; restarted from the disk alone, the hypervisor answers RPC with the configured
# hostname and subnets.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "birth from a USB stick" "$why"; exit 0; }
birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, published images)"; exit 0; }
birth_machine usb 2 default || { t_fail "machine configuration"; exit 0; }
birth_iso usb || { t_fail "per-machine ISO"; exit 0; }
birth_disk usb 4G qcow2
t_ok "imageserver, per-machine ISO (as a USB stick), blank 4 GiB disk"
birth_install usb usb || exit 0
t_expect "usb: the installer read its configuration from the stick" 'config source: (boot )?medium' \
	grep -a 'config source' "${BIRTH_LOG[usb]}"
birth_boot_disk usb disk || exit 0
birth_check_appliance usb
birth_bench_line usb usb
birth_stop usb
