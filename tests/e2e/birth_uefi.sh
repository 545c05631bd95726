#!/usr/bin/env bash
# timeout: 1500
# parallel: birth
# Birth under UEFI (OVMF, q35, a fresh copy of OVMF_VARS for every run): the ISO's GRUB
# EFI loader starts the installer, which installs onto the blank disk; OVMF then boots
# the disk alone (GRUB's BOOTX64.EFI at the ESP's removable path) and the hypervisor
# answers RPC with the configured hostname and subnets.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "birth under UEFI" "$why"; exit 0; }
[ -f "$BIRTH_OVMF_CODE" ] || { t_skip "birth under UEFI" "$BIRTH_OVMF_CODE missing (apt-get install ovmf)"; exit 0; }
birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, published images)"; exit 0; }
birth_machine uefi 3 default || { t_fail "machine configuration"; exit 0; }
birth_iso uefi || { t_fail "per-machine ISO"; exit 0; }
birth_disk uefi 4G qcow2
t_ok "imageserver, per-machine ISO, blank 4 GiB disk, OVMF"
birth_install uefi uefi-cd || exit 0
birth_boot_disk uefi uefi-disk || exit 0
birth_check_appliance uefi
birth_bench_line uefi uefi
birth_stop uefi
