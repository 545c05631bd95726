#!/usr/bin/env bash
# timeout: 1800
# kexec reinstall (what `hyper-control reinstall` does): an installed appliance (the
# fixture birth_iso.sh saved, through a qcow2 overlay; made here first when missing or
# older than the images) runs `installer kexec-image -yes smallstack/installer` on its
# serial console: the installer image is fetched from the imageserver, kexec'd with
# the machine's configuration and certificates in its initramfs, reinstalls the disk
# and reboots; restarted from the disk alone, the hypervisor answers RPC again with
# its hostname and subnets.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "kexec reinstall" "$why"; exit 0; }

if birth_fixture_fresh; then
	BIRTH_CERTS_FROM=$BIRTH_FIXTURE/certs
	birth_setup plain || { t_fail "birth environment with the fixture's CA"; exit 0; }
	t_ok "imageserver with the fixture's fleet CA, images published"
else
	echo "# no fresh installed-disk fixture: installing one from the ISO first"
	birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, published images)"; exit 0; }
	if ! { birth_machine iso 1 default && birth_iso iso && birth_disk iso 4G qcow2; }; then
		t_fail "fixture machine"
		exit 0
	fi
	birth_install iso cd || exit 0
	birth_fixture_save iso 1 || { t_fail "fixture saved"; exit 0; }
fi
idx=$(cat "$BIRTH_FIXTURE/idx")
BIRTH_HOST[iso]=birth-iso BIRTH_IP[iso]=$(birth_ip "$idx") BIRTH_MAC[iso]=$(birth_mac "$idx")
birth_overlay iso || { t_fail "overlay of the installed disk"; exit 0; }

export BIRTH_SERIAL_SOCK=1
birth_boot_disk iso disk || exit 0
birth_check_appliance iso
BIRTH_BENCH[iso]=
tk=$EPOCHREALTIME
# The configuration the installer kept is on the data partition (/data/etc/installer);
# the appliance binds only etc/hypervisor and etc/ssl over /etc.
# shellcheck disable=SC2016 # expanded by the appliance's shell
birth_type iso 'c=/etc/installer; [ -f $c/config.json ] || c=/data/etc/installer; installer -configDirectory=$c kexec-image -yes smallstack/installer'

if birth_wait iso '(^|] )installer: starting' 600; then
	t_ok "kexec-image: the installer kernel runs ($(birth_elapsed iso) s after power-on)"
else
	t_fail "kexec-image: the installer kernel runs" "$(birth_tail iso)"
	exit 0
fi
if birth_wait iso '(^|] )installer: (install complete|FAILED)' 900 && grep -qaE '(^|] )installer: install complete' "${BIRTH_LOG[iso]}"; then
	t_ok "kexec'd installer reinstalls ($(birth_elapsed iso) s after power-on)"
else
	t_fail "kexec'd installer reinstalls" "$(birth_tail iso)"
	exit 0
fi
t_expect "the kexec'd installer found its configuration in the initramfs" 'config source: initramfs' \
	grep -a 'config source' "${BIRTH_LOG[iso]}"
if birth_wait_exit iso 120; then
	BIRTH_EXIT_AT=$EPOCHREALTIME
	t_ok "the installer reboots after the reinstall"
else
	t_fail "the installer reboots after the reinstall"
	birth_stop iso
fi
sleep 0.5
stages=$(birth_stages "${BIRTH_LOG[iso]}" "$tk" | sed 's/^firmware /kexec /' | tr '\n' ' ')
echo "# kexec stages (from the command): $stages"
# shellcheck disable=SC2086 # pairs of words
birth_bench iso $stages install_total "$(_birth_secs "$tk" "${BIRTH_EXIT_AT:-$EPOCHREALTIME}")"
birth_boot_disk iso disk || exit 0
birth_check_appliance iso
birth_bench_line iso kexec
birth_stop iso
