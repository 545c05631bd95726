#!/usr/bin/env bash
# timeout: 1500
# parallel: birth
# Birth from an ISO as a CD (SeaBIOS): a per-machine ISO (iso/mkiso.sh -c: config.json,
# imagename, imageserver, storage-layout.json, the machine's cert/key, CA.pem,
# IdentityCA.pem) boots the installer, which fetches smallstack/hypervisor from a real
# imageserver (mTLS, the machine's certificate), partitions the blank virtio disk,
# installs and reboots; the VM is restarted from the disk alone and its hypervisor
# answers an RPC with the configured hostname and subnets. The installed disk is saved
# as the fixture of the tests that start from an installed machine (birth_kexec.sh).
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "birth from an ISO as a CD" "$why"; exit 0; }
birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, published images)"; exit 0; }
t_ok "imageserver on $BIRTH_GW:$BIRTH_IMGPORT with smallstack/{installer,hypervisor,pxe} published"

birth_machine iso 1 default || { t_fail "machine configuration"; exit 0; }
birth_iso iso || { t_fail "per-machine ISO"; exit 0; }
birth_disk iso 4G qcow2
t_ok "per-machine ISO and a blank 4 GiB disk"

birth_install iso cd || exit 0
birth_boot_disk iso disk || exit 0
birth_check_appliance iso
birth_bench_line iso iso
birth_stop iso
if birth_fixture_save iso 1; then
	t_ok "installed disk saved as the fixture ($BIRTH_FIXTURE)"
else
	t_fail "installed disk saved as the fixture"
fi
