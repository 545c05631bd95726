#!/usr/bin/env bash
# timeout: 1500
# parallel: birth
# Birth with "Encrypt": true: the data partition (ss-data) is LUKS2 on the disk (its
# header checked in the disk's bytes), the appliance opens it at boot with the key
# from the ESP (its hypervisor's certificates live there: it answers RPC), and what
# the hypervisor stored there (a subnet added by RPC) survives a power cycle.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "birth with an encrypted data partition" "$why"; exit 0; }
birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, published images)"; exit 0; }
birth_machine luks 4 encrypt || { t_fail "machine configuration"; exit 0; }
birth_iso luks || { t_fail "per-machine ISO"; exit 0; }
birth_disk luks 4G raw
t_ok "imageserver, per-machine ISO, blank 4 GiB raw disk, Encrypt: true"
birth_install luks cd || exit 0

raw=${BIRTH_DISK[luks]}
read -r off size < <(birth_part_offset "$raw" ss-data)
if [ -n "${off:-}" ]; then
	t_ok "the disk has an ss-data partition (at byte $off, $size bytes)"
else
	t_fail "the disk has an ss-data partition" "$(sfdisk -d "$raw" 2>&1 | tail -8 | tr '\n' '|')"
fi
luks_magic() { # LUKS2: "LUKS" 0xBA 0xBE, version 2 (big-endian u16)
	od -An -tx1 -j "$off" -N 8 "$raw" | tr -d ' \n'
}
t_expect "ss-data starts with a LUKS2 header" '^4c554b53babe0002$' luks_magic
if command -v cryptsetup >/dev/null 2>&1; then
	dump() { # the LUKS2 header area (16 MiB) copied out of the disk
		dd if="$raw" of="$BIRTH_DIR/luks/hdr" bs=1M skip=$((off / 1048576)) count=16 status=none &&
			cryptsetup luksDump "$BIRTH_DIR/luks/hdr"
	}
	t_expect "cryptsetup reads it as LUKS2 with a keyslot" 'Version:[[:space:]]*2' dump
fi
no_plain_ext4() { # no ext4 superblock magic (0xEF53 at 1080) in clear on the partition
	[ "$(od -An -tx1 -j $((off + 1080)) -N 2 "$raw" | tr -d ' \n')" != 53ef ]
}
t_check "the data partition holds no clear ext4" no_plain_ext4

birth_boot_disk luks disk || exit 0
t_expect "luks: the appliance opened the encrypted data partition" 'hypervisor-appliance: .*(luks|LUKS|crypt|mapper)' \
	grep -a 'hypervisor-appliance:' "${BIRTH_LOG[luks]}"
birth_check_appliance luks
birth_bench_line luks luks
t_expect "luks: a subnet added by RPC (stored on the data partition)" '"Error":""|^\{\}$' \
	birth_rpc luks Hypervisor.UpdateSubnets "{\"Add\":[{\"Id\":\"persist\",\"IpGateway\":\"10.109.9.1\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"10.109.9.1\"]}]}"
sleep 8 # ext4's commit interval: the state reaches the disk
birth_stop luks
birth_boot_disk luks disk || exit 0
t_expect "luks: after a power cycle the subnet is still there" '"Id":"persist"' \
	birth_rpc luks Hypervisor.ListSubnets '{}'
birth_stop luks
