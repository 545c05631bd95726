#!/usr/bin/env bash
# timeout: 2400
# hyper-control reinstall inside an installed appliance (the installed-disk fixture that
# birth_iso.sh saved, else hc_iso.sh's, through a qcow2 overlay; made here first from
# the harness's ISO when both are missing or older than the images), typed on its
# serial console. Not in the parallel group 'birth', like birth_kexec.sh: it runs after
# the births that write the fixtures. The steps:
# without -yes it refuses (exit 1) and changes nothing (no scratch directory, the
# hypervisor still answers); -dryRun prints the plan (exit 0, nothing fetched); with
# -yes it runs `installer kexec-image` after "running kexec in 5 seconds...", the
# kexec'd installer reinstalls the disk with the machine's own configuration, and the
# disk alone boots the appliance again, answering RPC with its hostname and subnets.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "reinstall" "$why"; exit 0; }
if ! _birth_initrd_has hypervisor 'usr/bin/hyper-control$'; then
	t_skip "reinstall" "the appliance image has no hyper-control (make, then make images)"
	exit 0
fi

birth_fixture_fresh || BIRTH_FIXTURE=$SS_TOP/build/birth-fixture-hc
birth_fixture_fresh || BIRTH_FIXTURE=$SS_TOP/build/birth-fixture
if birth_fixture_fresh; then
	echo "# starting from the fixture $BIRTH_FIXTURE"
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
log=${BIRTH_LOG[iso]}
hc='hyper-control -installerImageStream=smallstack/installer'

# Types a command and waits for the line "TAG=<exit status>" it ends with; prints the
# status. (The typed line echoes "TAG=$?", which the pattern does not match.)
run() { # TAG COMMAND
	birth_type iso "$2; echo $1=\$?"
	if birth_wait iso "^$1=[0-9]+" 120; then
		grep -aoE "^$1=[0-9]+" "$log" | tail -1 | cut -d= -f2
	else
		echo none
	fi
}

# --- without -yes: refused, nothing done ---
t_expect "without -yes: exit status 1" '^1$' run hc_no "$hc reinstall"
t_expect "without -yes: the warning and the refusal" 'error reinstalling: not confirmed \(-yes\)' \
	grep -a 'error reinstalling' "$log"
t_expect "... every VM dies: said before anything is done" 'every VM on it dies' grep -a 'every VM on it dies' "$log"
t_expect "without -yes: no installer was started (no scratch directory)" '^0$' \
	run hc_work '[ ! -e /run/installer/kexec-image ]'
t_expect "without -yes: the hypervisor still answers" '"Id":"birthnet"' birth_rpc iso Hypervisor.ListSubnets '{}'

# --- -dryRun: the plan ---
t_expect "-dryRun: exit status 0" '^0$' run hc_dry "$hc -dryRun reinstall"
t_expect "-dryRun: the plan names the configuration it reinstalls with" \
	'configuration: /(data/)?etc/installer \(hostname birth-iso, image smallstack/hypervisor' \
	grep -a 'configuration: ' "$log"
t_expect "-dryRun: ... and the installer command" \
	'runs: /usr/s?bin/installer -configDirectory=/(data/)?etc/installer kexec-image -yes smallstack/installer' \
	grep -a 'runs: ' "$log"
t_expect "-dryRun: nothing done" 'dry run: nothing done' grep -a 'dry run: nothing done' "$log"
t_expect "-dryRun: nothing fetched (no scratch directory)" '^0$' \
	run hc_work2 '[ ! -e /run/installer/kexec-image ]'

# --- -yes: kexec into the installer, reinstall, boot ---
BIRTH_BENCH[iso]=
birth_type iso "$hc -yes reinstall"
if birth_wait iso 'running kexec in 5 seconds' 60; then
	t_ok "-yes: running kexec in 5 seconds..."
else
	t_fail "-yes: running kexec in 5 seconds..." "$(birth_tail iso)"
	exit 0
fi
if birth_wait iso '(^|] )installer: starting' 900; then
	t_ok "-yes: the installer kernel runs ($(birth_elapsed iso) s after power-on)"
else
	t_fail "-yes: the installer kernel runs" "$(birth_tail iso)"
	exit 0
fi
if birth_wait iso '(^|] )installer: (install complete|FAILED)' 900 && grep -qaE '(^|] )installer: install complete' "$log"; then
	t_ok "the kexec'd installer reinstalls ($(birth_elapsed iso) s after power-on)"
else
	t_fail "the kexec'd installer reinstalls" "$(birth_tail iso)"
	exit 0
fi
t_expect "the kexec'd installer found the machine's configuration in its initramfs" 'config source: initramfs' \
	grep -a 'config source' "$log"
if birth_wait_exit iso 120; then
	t_ok "the installer reboots after the reinstall"
else
	t_fail "the installer reboots after the reinstall"
	birth_stop iso
fi
birth_boot_disk iso disk || exit 0
birth_check_appliance iso
birth_stop iso
