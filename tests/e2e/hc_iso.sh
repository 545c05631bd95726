#!/usr/bin/env bash
# timeout: 3600
# parallel: birth
# hyper-control make-installer-iso against the birth harness's real imageserver (the
# images of `make images` published as smallstack/*): the machine comes from a topology
# directory (-topologyDir), its key and certificate are made and signed by hyper-control
# (-signerCertFile/-signerKeyFile), the latest smallstack/installer is fetched over mTLS.
# The one ISO is hybrid: it boots as a USB stick and under OVMF (UEFI) to "installer:
# install complete", and as a CD all the way: the installed disk boots alone and its
# hypervisor answers RPC with a certificate the fleet CA signed for its address (saved
# as a fixture of its own, build/birth-fixture-hc, that hc_reinstall.sh can start
# from; not birth_iso.sh's, which the births running beside it write). Built twice
# from the same inputs (secrets directory) it is byte-identical; without one, a fresh
# key makes it differ.
# Errors: no -installerImageStream, an unknown host, a stream without an image, a stream
# that does not exist; none of them leaves a file.
# HC_ISO_MODES (default "cd usb uefi-cd") chooses the boots; cd is the full one.
set -u
BIRTH_FIXTURE=$SS_TOP/build/birth-fixture-hc
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "make-installer-iso" "$why"; exit 0; }
[ -x "$SS_BIN/hyper-control" ] || { t_skip "make-installer-iso" "$SS_BIN/hyper-control missing (make)"; exit 0; }
birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, published images)"; exit 0; }
t_ok "imageserver on $BIRTH_GW:$BIRTH_IMGPORT with smallstack/{installer,hypervisor,pxe} published"

idx=1
ip=$(birth_ip $idx) mac=$(birth_mac $idx)
ipmi_ip=10.109.99.$((10 + idx))
topo=$BIRTH_DIR/topology
mkdir -p "$topo/birth" "$BIRTH_DIR/home"
cat >"$topo/birth/machines.json" <<EOF
[{"Hostname": "birth-iso", "HostIpAddress": "$ip", "HostMacAddress": "$mac",
  "IPMI": {"Hostname": "birth-iso-ipmi", "HostIpAddress": "$ipmi_ip"},
  "Tags": {"RequiredImage": "smallstack/hypervisor"}}]
EOF
cat >"$topo/birth/subnets.json" <<EOF
[{"Id": "birthnet", "IpGateway": "$BIRTH_GW", "IpMask": "255.255.255.0",
  "DomainNameServers": ["$BIRTH_GW"], "DomainName": "birth.test", "Manage": true}]
EOF
_birth_layout default >"$BIRTH_DIR/layout.json"

hc() {
	HOME=$BIRTH_DIR/home hv_ns "$SS_BIN/hyper-control" -topologyDir="$topo" \
		-imageServerHostname="$BIRTH_GW" -imageServerPortNum="$BIRTH_IMGPORT" \
		-certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -identityCAfile="$C/idca/ca.pem" \
		-signerCertFile="$C/ca/ca.pem" -signerKeyFile="$C/ca/ca.key" \
		-storageLayoutFilename="$BIRTH_DIR/layout.json" -randomSeedBytes=32 "$@"
}
it() {
	hv_ns "$SS_BIN/imagetool" -imageServerHostname="$BIRTH_GW" -imageServerPortNum="$BIRTH_IMGPORT" \
		-certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -quiet "$@"
}
isos=$BIRTH_DIR/isos

# --- errors: exit 1, nothing written ---
t_expect_fail --exit=1 "no -installerImageStream" 'error making installer ISO: installerImageStream unspecified' \
	hc make-installer-iso birth-iso "$isos"
t_expect_fail --exit=1 "an unknown host" 'nosuch.*not found' \
	hc -installerImageStream=smallstack/installer make-installer-iso nosuch "$isos"
it mkdir smallstack/empty
t_expect_fail --exit=1 "a stream without an image" 'no image found in smallstack/empty' \
	hc -installerImageStream=smallstack/empty make-installer-iso birth-iso "$isos"
t_expect_fail --exit=1 "a stream that does not exist" 'FindLatestImage smallstack/nosuch: .*unknown directory' \
	hc -installerImageStream=smallstack/nosuch make-installer-iso birth-iso "$isos"
t_expect_fail --exit=2 "too many arguments" 'usage: hyper-control .*make-installer-iso' \
	hc -installerImageStream=smallstack/installer make-installer-iso a b c d
t_expect_fail --exit=1 "a failure with a secrets directory" 'no image found' \
	hc -installerImageStream=smallstack/empty make-installer-iso birth-iso "$isos" "$BIRTH_DIR/failsec"
t_check "the failures wrote nothing (no ISO, no secrets)" \
	bash -c "[ ! -e '$BIRTH_DIR/failsec' ] && { [ ! -e '$isos' ] || [ -z \"\$(ls -A '$isos')\" ]; }"
dry_run() { # one line: the progress lines of a dry run
	hc -dryRun -installerImageStream=smallstack/installer make-installer-iso birth-iso "$isos" \
		"$BIRTH_DIR/drysec" 2>&1 | tr '\n' ' '
}
t_expect "-dryRun: the ISO it would build and its files" \
	'dry run: would build .*/birth-iso-ipmi.iso.*/tftpdata/cert.pem.*/tftpdata/key.pem' dry_run
t_check "-dryRun wrote nothing (no ISO, no secrets)" bash -c "[ ! -e '$isos' ] && [ ! -e '$BIRTH_DIR/drysec' ]"

# --- the ISO ---
sec=$BIRTH_DIR/secrets
iso=$isos/birth-iso-ipmi.iso
if got=$(hc -installerImageStream=smallstack/installer make-installer-iso birth-iso "$isos" "$sec" 2>"$BIRTH_DIR/hc.err"); then
	t_ok "make-installer-iso ($(grep -c . "$BIRTH_DIR/hc.err") progress lines)"
else
	t_fail "make-installer-iso" "$(tail -5 "$BIRTH_DIR/hc.err" | tr '\n' ' ')"
	exit 0
fi
t_expect "it prints the ISO's name (the IPMI hostname)" "^$iso\$" echo "$got"
t_expect "progress: the image fetched, its objects, the ISO built" \
	'fetching image smallstack/installer/birth.*objects, [0-9]+ bytes.*building ISO' \
	tr '\n' ' ' <"$BIRTH_DIR/hc.err"
t_expect "<IPMI address>.iso is a symlink to it" '^birth-iso-ipmi.iso$' readlink "$isos/$ipmi_ip.iso"
t_expect "the ISO is readable by its owner only (it holds the machine's key)" '^600$' stat -c %a "$iso"
t_expect "hybrid: an MBR for BIOS from a USB stick" '^55aa$' \
	bash -c "od -An -tx1 -j510 -N2 '$iso' | tr -d ' '"
t_expect "hybrid: a GPT (UEFI from a USB stick)" '^EFI PART$' \
	bash -c "dd if='$iso' bs=1 skip=512 count=8 2>/dev/null"
t_expect "El Torito: a BIOS and a UEFI boot image" 'El Torito boot img :   1  BIOS.*El Torito boot img :   2  UEFI' \
	bash -c "xorriso -indev '$iso' -report_el_torito plain 2>/dev/null | tr '\n' ' '"
med=$BIRTH_DIR/medium
xorriso -osirrox on -indev "$iso" -extract /tftpdata "$med" >/dev/null 2>&1
t_expect "the medium's /tftpdata" \
	'^CA.pem IdentityCA.pem cert.pem config.json imagename imageserver key.pem random-seed resolv.conf storage-layout.json $' \
	bash -c "cd '$med' && ls | tr '\n' ' '"
t_expect "config.json: the topology's machine" '"Hostname": "birth-iso"' cat "$med/config.json"
t_expect "imageserver: -imageServerHostname" "^$BIRTH_GW:$BIRTH_IMGPORT\$" cat "$med/imageserver"
t_expect "random-seed: -randomSeedBytes bytes, the secrets directory's" '^32$' stat -c %s "$med/random-seed"
t_check "random-seed kept in the secrets directory" cmp "$med/random-seed" "$sec/random-seed"
t_check "cert.pem chains to the fleet CA" openssl verify -CAfile "$C/ca/ca.pem" "$med/cert.pem"
t_expect "cert.pem names the machine and its address" "DNS:birth-iso, IP Address:$ip" \
	openssl x509 -in "$med/cert.pem" -noout -ext subjectAltName
t_expect "cert.pem: server and client" 'TLS Web Server Authentication, TLS Web Client Authentication' \
	openssl x509 -in "$med/cert.pem" -noout -ext extendedKeyUsage
t_expect "key.pem is cert.pem's key" '^same$' bash -c \
	"[ \"\$(openssl pkey -in '$med/key.pem' -pubout)\" = \"\$(openssl x509 -in '$med/cert.pem' -noout -pubkey)\" ] && echo same"
t_expect "the secrets directory is the owner's only" '^700 600 600 600$' \
	bash -c "stat -c %a '$sec' '$sec/key.pem' '$sec/cert.pem' '$sec/random-seed' | tr '\n' ' ' | sed 's/ \$//'"

# --- reproducible ---
hc -installerImageStream=smallstack/installer make-installer-iso birth-iso "$BIRTH_DIR/again" "$sec" >/dev/null 2>&1
t_check "built again with the same secrets directory: byte-identical" cmp "$iso" "$BIRTH_DIR/again/birth-iso-ipmi.iso"
rm -rf "$BIRTH_DIR/again"
hc -installerImageStream=smallstack/installer make-installer-iso birth-iso "$BIRTH_DIR/fresh" >/dev/null 2>&1
t_expect_fail --exit=1 "built without it: a fresh key, another ISO" 'differ' cmp "$iso" "$BIRTH_DIR/fresh/birth-iso-ipmi.iso"
rm -rf "$BIRTH_DIR/fresh"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$sec/key.pem" \
	-out "$sec/cert.pem" -days 2 -subj /CN=birth-iso 2>/dev/null
t_expect_fail --exit=1 "a secrets directory whose certificate is not from the fleet CA" \
	'secrets/cert.pem: .*(unable to get local issuer|self.signed|verify)' \
	hc -installerImageStream=smallstack/installer make-installer-iso birth-iso "$BIRTH_DIR/bad" "$sec"
t_check "... wrote nothing" test ! -e "$BIRTH_DIR/bad/birth-iso-ipmi.iso"

# --- boots ---
BIRTH_HOST[iso]=birth-iso BIRTH_IP[iso]=$ip BIRTH_MAC[iso]=$mac
mkdir -p "$BIRTH_DIR/iso"
ln -sf "$iso" "$BIRTH_DIR/iso/installer.iso"
for mode in ${HC_ISO_MODES:-cd usb uefi-cd}; do
	if [ "$mode" = uefi-cd ] && [ ! -f "$BIRTH_OVMF_CODE" ]; then
		t_skip "$mode: boot" "$BIRTH_OVMF_CODE missing (apt-get install ovmf)"
		continue
	fi
	birth_disk iso 4G qcow2
	birth_install iso "$mode" || continue
	t_expect "$mode: the installer took its configuration from the medium" 'config source: boot medium' \
		grep -a 'config source' "${BIRTH_LOG[iso]}"
	[ "$mode" = cd ] || continue
	birth_boot_disk iso disk || continue
	birth_check_appliance iso
	birth_stop iso
	if birth_fixture_save iso $idx; then
		t_ok "installed disk saved as the fixture ($BIRTH_FIXTURE)"
	else
		t_fail "installed disk saved as the fixture"
	fi
done
