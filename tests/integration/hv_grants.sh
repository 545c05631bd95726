#!/usr/bin/env bash
# timeout: 240
# Which methods a certificate without method grants may call (rpc.md §3.3, §5, §7),
# against a table written from the original: hypervisor/rpcd/api.go registers the
# Hypervisor service with the PublicMethods below (any caller with a username; the
# per-VM checks happen in the handlers); every other method needs a method grant, a
# trusted user/group or hypervisor ownership. lib/log/serverlogger registers Logger
# with no public method. Each method is named on the wire (the accept line, rpc.md §4)
# by: alice (user: a CA.pem certificate without grants), bob (idonly: IdentityCA.pem,
# whose grants are ignored) and the admin (Hypervisor.* granted; Logger.* is not in
# that grant, so the admin is refused the Logger as the original refuses it).
# Then /_goSRPC_/listMethods against the spec's method table, and listPublicMethods.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "the daemon's /healthz is fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require python3 "tests/lib/srpc_raw.py speaks the wire"

hv_setup "${SS_ID}br" 10.106.0.1/24 || exit 0
# A certificate granting Logger.* and Hypervisor.* for the Logger cases.
_hv_cert "$C/admin" logadmin logadmin "$C/ca" 'Hypervisor.*' 'Logger.*' || t_fail "logadmin certificate"

# hypervisor/rpcd/api.go, PublicMethods (Cloud-Foundations/Dominator, the version with
# Config.AllowUnauthenticatedReads), less ScanVmRoot, which is checked on its own below.
PUBLIC="AcknowledgeVm AddVmVolumes BecomePrimaryVmOwner ChangeVmConsoleType ChangeVmCpuPriority
ChangeVmDestroyProtection ChangeVmHostname ChangeVmMachineType ChangeVmNumNetworkQueues
ChangeVmOwnerGroups ChangeVmOwnerUsers ChangeVmSize ChangeVmSubnet ChangeVmTags
ChangeVmVolumeInterfaces ChangeVmVolumeSize ChangeVmVolumeStorageIndex CommitImportedVm
ConnectToVmConsole ConnectToVmSerialPort CopyVm CreateVm DebugVmImage DeleteVmVolume DestroyVm
DiscardVmAccessToken DiscardVmOldImage DiscardVmOldUserData DiscardVmSnapshot ExportLocalVm
GetCapacity GetIdentityProvider GetPublicKey GetRootCookiePath GetUpdates GetVmAccessToken
GetVmCreateRequest GetVmInfo GetVmInfos GetVmLastPatchLog GetVmUserData GetVmVirtualiserLogFile
GetVmVolume GetVmVolumeStorageConfiguration ImportLocalVm ListSubnets ListVMs
ListVmVirtualiserLogFiles ListVolumeDirectories MigrateVm PatchVmImage ProbeVmPort RebootVm
ReplaceVmCredentials ReplaceVmIdentity ReplaceVmImage ReplaceVmUserData RestoreVmFromSnapshot
RestoreVmImage RestoreVmUserData ReorderVmVolumes SnapshotVm StartVm StopVm TraceVmMetadata"
# SmallStack's own read-only methods: public too (docs/upgrades.md).
OURS_PUBLIC="GetUpgradeStatus"
# The spec's methods that are not in that list: admin only.
ADMIN="ChangeAddressPool ChangeOwners ConnectToVmManager HoldLock HoldVmLock NetbootMachine
PowerOff PrepareVmForMigration RegisterExternalLeases SetDisabledState UpdateSubnets WatchDhcp"
LOGGER="Debug GetStackTrace Print SetDebugLevel Watch"

# HoldLock and HoldVmLock are only served with -enableLockDebugMethods (#37).
hv_daemon_start -virtType=qemu -enableLockDebugMethods || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts"

# access CERTDIR NAME METHOD...: one "Method: answer" line per method.
access() {
	local dir=$1 name=$2
	shift 2
	hv_ns python3 "$SS_TOP/tests/lib/srpc_raw.py" -c "$C/$dir/$name.cert" -k "$C/$dir/$name.key" \
		--ca "$C/ca/ca.pem" --timeout 10 "127.0.0.1:$HV_PORT" access "$@"
}
# check WHO WANT LIST: one TAP case per method; WANT is "accepted" or the error line.
check() {
	local who=$1 want=$2 list=$3 dir name m got
	case $who in
	alice) dir=user name=user ;;
	bob) dir=idonly name=idonly ;;
	admin) dir=admin name=admin ;;
	logadmin) dir=admin name=logadmin ;;
	esac
	# shellcheck disable=SC2086 # the lists are words
	got=$(access "$dir" "$name" $list 2>&1)
	for m in $list; do
		if grep -qxF "$m: $want" <<<"$got"; then
			t_ok "$who: $m: $want"
		else
			t_fail "$who: $m: $want" "$(grep -F "$m:" <<<"$got" | head -1)"
		fi
	done
}
hv_methods() { local m; for m in $1; do printf 'Hypervisor.%s ' "$m"; done; }
log_methods() { local m; for m in $LOGGER; do printf 'Logger.%s ' "$m"; done; }

check alice accepted "$(hv_methods "$PUBLIC $OURS_PUBLIC")"
check alice "access to method denied" "$(hv_methods "$ADMIN")"
check alice "access to method denied" "$(log_methods)"
check bob accepted "$(hv_methods "GetCapacity CreateVm StopVm")"
check bob "access to method denied" "$(hv_methods "$ADMIN")"
check admin accepted "$(hv_methods "$ADMIN")"
check admin "access to method denied" "$(log_methods)"
check logadmin accepted "$(log_methods)"
# The spec keeps ScanVmRoot out (gob-only inodes, rpc.md §4.2).
check alice "Hypervisor: unknown method: ScanVmRoot" "Hypervisor.ScanVmRoot"

# ---- /_goSRPC_/listMethods: every served method, the built-in first (§10.8) ----
want=$( {
	echo .LocalUpgradeToUnix
	for m in $PUBLIC $OURS_PUBLIC $ADMIN; do echo "Hypervisor.$m"; done
	for m in $LOGGER; do echo "Logger.$m"; done
} | sort)
list=$(hv_curl _goSRPC_/listMethods)
t_expect "listMethods starts with .LocalUpgradeToUnix" '^\.LocalUpgradeToUnix$' \
	bash -c "head -1 <<<'$list'"
missing=$(comm -23 <(echo "$want") <(sort <<<"$list") | tr '\n' ' ')
extra=$(comm -13 <(echo "$want") <(sort <<<"$list") | tr '\n' ' ')
t_check "listMethods lists every method of the spec but ScanVmRoot, and the Logger's (missing: $missing)" \
	test -z "$missing"
t_check "listMethods lists nothing else (extra: $extra)" test -z "$extra"
pub=$(hv_curl _goSRPC_/listPublicMethods | sort)
wantpub=$(for m in $PUBLIC $OURS_PUBLIC; do echo "Hypervisor.$m"; done | sort)
t_check "listPublicMethods: exactly the original's public methods but ScanVmRoot, and ours ($(comm -3 <(echo "$wantpub") <(echo "$pub") | tr -d '\t' | tr '\n' ' '))" \
	test "$pub" = "$wantpub"

hv_daemon_stop
