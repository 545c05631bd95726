# shellcheck shell=bash
# Birth harness (sourced, bash, after tests/lib/tap.sh): a bare QEMU machine becomes a
# hypervisor appliance through the installer, against real parts only:
#   - a network namespace with a bridge ($BR, $BIRTH_GW/24) and one tap per VM (names
#     start with $SS_ID, as tests/lib/hyper.sh makes them; hyper.sh does the namespace);
#   - a fleet CA (with an admin certificate granting Hypervisor.*, ImageServer.*,
#     ObjectServer.*), an IdentityCA, another CA nobody trusts;
#   - a real imageserver (build/bin/imageserver) on $BIRTH_GW:6971 inside the namespace,
#     its certificate naming the bridge IP, with build/images/{installer,hypervisor,pxe}
#     published by tools/imagetool/publish-images.sh as smallstack/<kind>/<leaf>;
#   - per machine: a configuration directory (config.json = GetMachineInfoResponse,
#     imagename, imageserver, storage-layout.json, the machine's cert/key signed by the
#     fleet CA, CA.pem, IdentityCA.pem), an ISO (iso/mkiso.sh -c DIR -a ss.test=1), a
#     disk, QEMU with its serial console in a log (every line timestamped in LOG.ts for
#     bench/birth) and its NIC on a tap with the config's MAC.
# Everything is removed at exit, also on failure (t_cleanup).
#
#   birth_setup plain|libvirt namespace, bridge, certificates, imageserver, published
#                             images (hv_libvirt_start instead of hv_env_start with
#                             "libvirt": the PXE test runs our hypervisor daemon there)
#   birth_machine NAME IDX [LAYOUT]
#                             config dir $BIRTH_DIR/NAME/cfg for machine number IDX
#                             (IP $BIRTH_NET.(10+IDX), MAC 52:54:00:b1:00:IDX, hostname
#                             birth-NAME); LAYOUT: default | encrypt | nofit | FILE
#   birth_iso NAME [KERNEL ARGS]  $BIRTH_DIR/NAME/installer.iso (ss.test=1 added) of
#                             $BIRTH_ISO_IMAGE (default: build/images/installer)
#   birth_disk NAME [SIZE] [FORMAT]  $BIRTH_DIR/NAME/disk.(qcow2|raw), blank
#   birth_qemu NAME MODE [QEMU ARGS...]
#                             starts QEMU (background; $BIRTH_PID) in the namespace:
#                             MODE cd | usb | uefi-cd | disk | uefi-disk | none
#                             (disk: -boot c, no ISO, no kernel: the disk alone)
#                             BIRTH_SERIAL_SOCK=1: the serial line is also a socket
#                             (birth_type sends lines to the console)
#   birth_wait NAME REGEX SECS    until the log matches REGEX; 1 (and the log's tail
#                             on stderr) when QEMU exits first or SECS pass
#   birth_wait_exit NAME SECS     until QEMU exits (after install: -no-reboot)
#   birth_stop NAME               kills QEMU (power off)
#   birth_type NAME LINE          types LINE + newline on the serial console
#   birth_tail NAME               the log's last lines in one line (for t_fail)
#   birth_rpc NAME METHOD [JSON]  SRPC call to the installed hypervisor (admin cert)
#   birth_host NAME               the Host shown on the hypervisor's status page
#   birth_wait_rpc NAME SECS      until the hypervisor answers Hypervisor.ListSubnets
#   birth_disk_sha NAME           SHA-256 of the disk's bytes (raw view)
#   birth_part_offset DISKFILE PARTNAME  byte offset of a GPT partition (raw disks)

. "$SS_TOP/tests/lib/hyper.sh"

BIRTH_IMAGES=${BIRTH_IMAGES:-$SS_TOP/build/images}
BIRTH_NET=${BIRTH_NET:-10.109.0}
BIRTH_GW=$BIRTH_NET.1
BIRTH_IMGPORT=6971
BIRTH_MEM=${BIRTH_MEM:-1536}
BIRTH_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
BIRTH_OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd

# What every birth test needs before it starts; prints why not and returns 1.
birth_prereqs() {
	local c
	for c in qemu-system-x86_64 qemu-img xorriso openssl curl sfdisk jq; do
		command -v "$c" >/dev/null 2>&1 || { echo "$c not installed"; return 1; }
	done
	for c in installer/vmlinuz installer/initrd.img hypervisor/vmlinuz hypervisor/initrd.img \
		hypervisor/boot/esp.img.gz hypervisor/tools; do
		[ -e "$BIRTH_IMAGES/$c" ] || { echo "$BIRTH_IMAGES/$c missing (make images)"; return 1; }
	done
	if ! _birth_initrd_has installer 'usr/s?bin/installer$'; then
		echo "the installer image has no installer program (make, then make images)"
		return 1
	fi
	for c in imageserver imagetool srpc-testc; do
		[ -x "$SS_BIN/$c" ] || { echo "$SS_BIN/$c missing (make tests)"; return 1; }
	done
	return 0
}

_birth_initrd_has() { # IMAGE REGEX
	local f=$BIRTH_IMAGES/$1/initrd.img
	case $(od -An -tx1 -N4 "$f" | tr -d ' ') in
	fd377a58) xz -dc "$f" ;;
	28b52ffd) zstd -dc "$f" ;;
	1f8b*) gzip -dc "$f" ;;
	*) return 1 ;;
	esac 2>/dev/null | cpio -it --quiet 2>/dev/null | grep -qE "$2"
}

birth_setup() {
	if [ "${1:-}" = libvirt ]; then
		hv_libvirt_start || { echo "# birth_setup: private libvirt did not start" >&2; return 1; }
	else
		hv_env_start || { echo "# birth_setup: test namespace" >&2; return 1; }
	fi
	BIRTH_DIR=$HV_DIR/birth
	BR=${SS_ID}bbr
	C=$HV_DIR/certs
	mkdir -p "$BIRTH_DIR"
	t_cleanup birth_cleanup
	hv_bridge "$BR" "$BIRTH_GW/24" || { echo "# birth_setup: bridge" >&2; return 1; }
	# iPXE's and the installer's neighbour discovery must reach everyone.
	hv_ns ip link set "$BR" type bridge mcast_snooping 0 2>/dev/null
	if [ -n "${BIRTH_CERTS_FROM:-}" ]; then
		rm -rf "$C"
		cp -a "$BIRTH_CERTS_FROM" "$C" || { echo "# birth_setup: certificates" >&2; return 1; }
	else
		birth_certs || { echo "# birth_setup: certificates" >&2; return 1; }
	fi
	birth_imageserver_start "$BIRTH_IMGPORT" "$C/imgsrv" || return 1
	birth_publish || return 1
}

_birth_ca() { # DIR CN
	mkdir -p "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" \
		-out "$1/ca.pem" -days 30 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# _birth_cert DIR BASE CN ISSUER_DIR SAN [GRANTS]: DIR/BASE.cert + DIR/BASE.key (EC P-256)
_birth_cert() {
	local dir=$1 base=$2 cn=$3 issuer=$4 san=$5 grants=${6:-} g i=0
	mkdir -p "$dir"
	{
		echo "[ext]"
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=clientAuth,serverAuth"
		echo "subjectAltName=$san"
		if [ -n "$grants" ]; then
			echo "1.3.6.1.4.1.9586.100.7.1=ASN1:SEQUENCE:grants"
			echo "[grants]"
			IFS=, read -ra _g <<<"$grants"
			for g in "${_g[@]}"; do echo "m$i=UTF8:$g"; i=$((i + 1)); done
		fi
	} >"$dir/$base.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$base.key" \
		-out "$dir/$base.csr" -subj "/CN=$cn" 2>/dev/null &&
		openssl x509 -req -in "$dir/$base.csr" -CA "$issuer/ca.pem" -CAkey "$issuer/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$dir/$base.ext" -extensions ext \
			-out "$dir/$base.cert" 2>/dev/null
}

# The layout of hyper.sh's hv_certs (hv_daemon_start and rpc/vmc use it), with EC keys,
# the bridge IP in the server names, and what the birth needs besides.
birth_certs() {
	_birth_ca "$C/ca" "SmallStack birth fleet CA" &&
		_birth_ca "$C/idca" "SmallStack birth identity CA" &&
		_birth_ca "$C/otherca" "Somebody else's CA" &&
		_birth_cert "$C/admin" admin admin "$C/ca" "DNS:localhost, IP:127.0.0.1" \
			'Hypervisor.*,ImageServer.*,ObjectServer.*,Installer.*' &&
		_birth_cert "$C/server" cert hypervisor "$C/ca" "DNS:localhost, IP:127.0.0.1, IP:$BIRTH_GW" &&
		_birth_cert "$C/imgsrv" cert imageserver "$C/ca" "DNS:localhost, IP:127.0.0.1, IP:$BIRTH_GW" &&
		_birth_cert "$C/badsrv" cert imageserver "$C/otherca" "DNS:localhost, IP:127.0.0.1, IP:$BIRTH_GW" ||
		return 1
	mv "$C/server/cert.cert" "$C/server/cert.pem" && mv "$C/server/cert.key" "$C/server/key.pem"
}

_birth_port_up() { # PORT: the imageserver's page answers in the namespace
	hv_ns curl -sf --max-time 2 "http://$BIRTH_GW:$1/healthz" >/dev/null 2>&1
}

# birth_imageserver_start [PORT] [CERTDIR]: an imageserver in the namespace (the good
# one: port 6971, $C/imgsrv; the untrusted one: another port, $C/badsrv, own dirs).
birth_imageserver_start() {
	local port=${1:-$BIRTH_IMGPORT} cd=${2:-$C/imgsrv} d i pid
	d=$BIRTH_DIR/imageserver-$port
	mkdir -p "$d/images" "$d/objects" "$d/log"
	ip netns exec "$HV_NS" "$SS_BIN/imageserver" -portNum="$port" -imageDir="$d/images" \
		-objectDir="$d/objects" -certFile="$cd/cert.cert" -keyFile="$cd/cert.key" \
		-CAfile="$C/ca/ca.pem" -identityCAfile="$C/idca/ca.pem" -logDir="$d/log" \
		-alsoLogToStderr >>"$d/out" 2>&1 &
	pid=$!
	echo "$pid" >"$d/pid"
	for ((i = 0; i < 300; i++)); do
		_birth_port_up "$port" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "# imageserver on port $port did not come up: $(tail -3 "$d/out" | tr '\n' ' ')"
	return 1
}

birth_publish() {
	local out
	if ! out=$(IMAGE_LEAF=birth ip netns exec "$HV_NS" bash "$SS_TOP/tools/imagetool/publish-images.sh" \
		"$SS_BIN/imagetool" "$BIRTH_GW:$BIRTH_IMGPORT" "$BIRTH_IMAGES" smallstack \
		-certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -quiet 2>&1); then
		echo "# publish-images: $(tail -3 <<<"$out" | tr '\n' ' ')"
		return 1
	fi
	# shellcheck disable=SC2034 # the imageserver's object store, for the tests
	BIRTH_OBJECTS=$BIRTH_DIR/imageserver-$BIRTH_IMGPORT/objects
}

birth_cleanup() {
	local f pid
	for f in "$BIRTH_DIR"/*/qemu.pid "$BIRTH_DIR"/imageserver-*/pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done
	# Keep the serial logs beside the test log.
	local keep=$SS_TOP/build/test-logs n dst
	mkdir -p "$keep"
	for f in "$BIRTH_DIR"/*/serial*.log; do
		[ -f "$f" ] || continue
		n=$(basename "$(dirname "$f")")
		dst=$keep/$(basename "$0" .sh)-$n-$(basename "$f")
		tr -d '\r' <"$f" >"$dst" 2>/dev/null
	done
	for f in "$BIRTH_DIR"/*/qemu.pid; do
		[ -f "$f" ] && wait "$(cat "$f")" 2>/dev/null
	done
	return 0
}

birth_ip() { echo "$BIRTH_NET.$((10 + $1))"; }
birth_mac() { printf '52:54:00:b1:00:%02x' "$1"; }

# The storage layouts: default (the spec's defaults, small), encrypt, nofit.
_birth_layout() {
	case $1 in
	default) echo '{"BootDriveLayout": [{"MountPoint": "/", "MinimumFreeBytes": 67108864}], "Encrypt": false}' ;;
	encrypt) echo '{"BootDriveLayout": [{"MountPoint": "/", "MinimumFreeBytes": 67108864}], "Encrypt": true}' ;;
	nofit) echo '{"BootDriveLayout": [{"MountPoint": "/", "MinimumFreeBytes": 1099511627776}], "Encrypt": false}' ;;
	*) cat "$1" ;;
	esac
}

birth_machine() { # NAME IDX [LAYOUT]
	local name=$1 idx=$2 layout=${3:-default} d ip mac host
	d=$BIRTH_DIR/$name
	ip=$(birth_ip "$idx") mac=$(birth_mac "$idx") host=birth-$name
	mkdir -p "$d/cfg"
	BIRTH_HOST[$name]=$host BIRTH_IP[$name]=$ip BIRTH_MAC[$name]=$mac
	cat >"$d/cfg/config.json" <<EOF
{"Machine": {"Hostname": "$host", "HostIpAddress": "$ip", "HostMacAddress": "$mac",
  "SubnetId": "birthnet", "IPMI": {}},
 "Subnets": [{"Id": "birthnet", "IpGateway": "$BIRTH_GW", "IpMask": "255.255.255.0",
  "DomainNameServers": ["$BIRTH_GW"], "DomainName": "birth.test", "Manage": true}]}
EOF
	echo "smallstack/hypervisor" >"$d/cfg/imagename"
	echo "$BIRTH_GW:$BIRTH_IMGPORT" >"$d/cfg/imageserver"
	_birth_layout "$layout" >"$d/cfg/storage-layout.json"
	_birth_cert "$d/crt" machine "$host" "$C/ca" "DNS:$host, IP:$ip" || return 1
	cp "$d/crt/machine.cert" "$d/cfg/cert.pem"
	cp "$d/crt/machine.key" "$d/cfg/key.pem"
	cp "$C/ca/ca.pem" "$d/cfg/CA.pem"
	cp "$C/idca/ca.pem" "$d/cfg/IdentityCA.pem"
}
declare -A BIRTH_HOST BIRTH_IP BIRTH_MAC

birth_iso() { # NAME [KERNEL ARGS]
	local d=$BIRTH_DIR/$1 out
	if ! out=$(bash "$SS_TOP/iso/mkiso.sh" -i "${BIRTH_ISO_IMAGE:-$BIRTH_IMAGES/installer}" -c "$d/cfg" \
		-a "ss.test=1${2:+ $2}" -o "$d/installer.iso" 2>&1); then
		echo "mkiso: $(tail -3 <<<"$out" | tr '\n' ' ')"
		return 1
	fi
}

birth_disk() { # NAME [SIZE] [FORMAT]
	local d=$BIRTH_DIR/$1 size=${2:-4G} fmt=${3:-qcow2}
	mkdir -p "$d"
	rm -f "$d"/disk.*
	qemu-img create -q -f "$fmt" "$d/disk.$fmt" "$size" || return 1
	BIRTH_DISK[$1]=$d/disk.$fmt
	BIRTH_DISKFMT[$1]=$fmt
}
declare -A BIRTH_DISK BIRTH_DISKFMT

# birth_use_disk NAME FILE FORMAT: a machine boots from an existing disk (an overlay).
birth_use_disk() {
	mkdir -p "$BIRTH_DIR/$1"
	BIRTH_DISK[$1]=$2
	BIRTH_DISKFMT[$1]=$3
}

_birth_tap() { # NAME -> $BIRTH_TAP (created once per machine, on the bridge)
	BIRTH_TAP=${BIRTH_TAPN[$1]:-}
	[ -n "$BIRTH_TAP" ] && return 0
	BIRTH_TAPS=$((${BIRTH_TAPS:-0} + 1))
	BIRTH_TAP=${SS_ID}bt$BIRTH_TAPS
	BIRTH_TAPN[$1]=$BIRTH_TAP
	hv_ns ip tuntap add dev "$BIRTH_TAP" mode tap &&
		hv_ns ip link set "$BIRTH_TAP" master "$BR" &&
		hv_ns ip link set "$BIRTH_TAP" up
}
declare -A BIRTH_TAPN

birth_qemu() { # NAME MODE [QEMU ARGS...]
	local name=$1 mode=$2 d accel cpu args=() log
	shift 2
	d=$BIRTH_DIR/$name
	mkdir -p "$d"
	BIRTH_RUN[$name]=$((${BIRTH_RUN[$name]:-0} + 1))
	log=$d/serial${BIRTH_RUN[$name]}.log
	BIRTH_LOG[$name]=$log
	: >"$log"
	accel=$(ss_qemu_accel) cpu=$(ss_qemu_cpu)
	args=(-name "$SS_ID-birth-$name" -accel "$accel" -cpu "$cpu" -m "$BIRTH_MEM" -smp 2
		-nodefaults -display none -monitor none -no-reboot -vga none)
	if [ "${BIRTH_SERIAL_SOCK:-0}" = 1 ]; then
		rm -f "$d/serial.sock"
		args+=(-chardev "socket,id=ser0,path=$d/serial.sock,server=on,wait=off,logfile=$log,logappend=on"
			-serial chardev:ser0)
	else
		args+=(-serial "file:$log")
	fi
	if [ "$mode" != none ] && [ "${BIRTH_NONET:-0}" != 1 ]; then
		_birth_tap "$name" || return 1
		args+=(-netdev "tap,id=n0,ifname=$BIRTH_TAP,script=no,downscript=no"
			-device "virtio-net-pci,netdev=n0,mac=${BIRTH_MAC[$name]}")
	fi
	case $mode in
	uefi-*)
		cp "$BIRTH_OVMF_VARS" "$d/vars${BIRTH_RUN[$name]}.fd"
		args+=(-machine q35 -drive "if=pflash,format=raw,readonly=on,file=$BIRTH_OVMF_CODE"
			-drive "if=pflash,format=raw,file=$d/vars${BIRTH_RUN[$name]}.fd")
		;;
	esac
	if [ -n "${BIRTH_DISK[$name]:-}" ] && [ "${BIRTH_NODISK:-0}" != 1 ]; then
		args+=(-drive "file=${BIRTH_DISK[$name]},format=${BIRTH_DISKFMT[$name]},if=none,id=d0,cache=unsafe"
			-device "virtio-blk-pci,drive=d0,serial=birth-$name,bootindex=1")
	fi
	case $mode in
	cd | uefi-cd)
		args+=(-drive "file=$d/installer.iso,format=raw,if=none,id=cd0,readonly=on,media=cdrom"
			-device "ide-cd,drive=cd0,bootindex=0")
		;;
	usb) # a stick says it is removable (QEMU's usb-storage does not by default)
		args+=(-device qemu-xhci -drive "file=$d/installer.iso,format=raw,if=none,id=stick,readonly=on"
			-device "usb-storage,drive=stick,bootindex=0,removable=on")
		;;
	disk | uefi-disk | none) ;;
	*) echo "birth_qemu: unknown mode $mode" >&2; return 1 ;;
	esac
	BIRTH_T0[$name]=$EPOCHREALTIME
	# Not through hv_ns: $! must be QEMU itself (ip execs it).
	ip netns exec "$HV_NS" qemu-system-x86_64 "${args[@]}" "$@" >"$d/qemu.out" 2>&1 </dev/null &
	BIRTH_PID=$!
	echo "$BIRTH_PID" >"$d/qemu.pid"
	echo "${BIRTH_T0[$name]}" >"$log.t0"
	# Every serial line with the time it arrived (bench/birth reads the stages from it).
	# (No tr in between: its output to a pipe is block-buffered and would delay lines.)
	_birth_stamp "$BIRTH_PID" "$log"
	echo "# $name: QEMU ($accel, $mode) started, serial log $log"
}
declare -A BIRTH_RUN BIRTH_LOG BIRTH_T0

_birth_stamp() { # PID LOG [more]: LOG.ts gets each line of LOG with its arrival time
	if [ "${3:-}" = more ]; then # a later run appending to the same LOG: new lines only
		(tail -n 0 --pid="$1" -s 0.1 -F "$2" 2>/dev/null |
			while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "${l%$'\r'}"; done >>"$2.ts") &
		return 0
	fi
	(tail -n +1 --pid="$1" -s 0.1 -F "$2" 2>/dev/null |
		while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "${l%$'\r'}"; done >"$2.ts") &
}

birth_running() { kill -0 "$(cat "$BIRTH_DIR/$1/qemu.pid" 2>/dev/null)" 2>/dev/null; }

birth_tail() { # NAME [N]
	tr -d '\r\033' <"${BIRTH_LOG[$1]}" 2>/dev/null | grep -av '^\s*$' | tail -"${2:-8}" | tr '\n' '|'
	echo
}

birth_wait() { # NAME REGEX SECS
	local name=$1 re=$2 secs=$3 i log=${BIRTH_LOG[$1]}
	for ((i = 0; i < secs * 5; i++)); do
		grep -qaE -- "$re" "$log" 2>/dev/null && return 0
		if ! birth_running "$name"; then
			grep -qaE -- "$re" "$log" 2>/dev/null && return 0
			echo "# $name: QEMU exited before /$re/; log tail: $(birth_tail "$name" 15)" >&2
			return 1
		fi
		sleep 0.2
	done
	echo "# $name: no /$re/ after $secs s; log tail: $(birth_tail "$name" 15)" >&2
	return 1
}

birth_wait_exit() { # NAME SECS
	local i pid
	pid=$(cat "$BIRTH_DIR/$1/qemu.pid")
	for ((i = 0; i < $2 * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.2
	done
	echo "# $1: QEMU still running after $2 s; log tail: $(birth_tail "$1" 15)" >&2
	return 1
}

birth_stop() { # NAME
	local pid
	pid=$(cat "$BIRTH_DIR/$1/qemu.pid" 2>/dev/null) || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$BIRTH_DIR/$1/qemu.pid"
	return 0
}

birth_type() { # NAME LINE: to the serial console (BIRTH_SERIAL_SOCK=1)
	python3 - "$BIRTH_DIR/$1/serial.sock" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
for ch in sys.argv[2] + "\r":
    s.sendall(ch.encode())
    time.sleep(0.01)
time.sleep(0.3)
s.close()
EOF
}

# SRPC to the installed hypervisor on the machine's IP, as the fleet's admin.
birth_rpc() { # NAME METHOD [JSON]
	local name=$1
	shift
	hv_ns "$SS_BIN/srpc-testc" -addr="${BIRTH_IP[$name]}:6976" -serverName="${BIRTH_IP[$name]}" \
		-certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" -CAfile="$C/ca/ca.pem" \
		-timeout=20s call "$@"
}

birth_host() { # NAME: the Host row of the hypervisor's status page (a TCG guest on a
	# loaded machine can be slow to answer its first page: three tries)
	local i page
	for i in 1 2 3; do
		page=$(hv_ns curl -sS --max-time 20 "http://${BIRTH_IP[$1]}:6976/" 2>&1) && break
	done
	sed -n 's|.*<tr><th>Host</th><td>\([^<]*\)</td>.*|\1|p' <<<"$page" | head -1
	[[ $page == *'<tr><th>Host</th>'* ]] || echo "$page" | tail -1
}

birth_wait_rpc() { # NAME SECS
	local i out
	for ((i = 0; i < $2; i += 2)); do
		out=$(birth_rpc "$1" Hypervisor.ListSubnets '{}' 2>&1) && [[ $out == *'"Subnets"'* ]] && {
			BIRTH_RPC_AT=$EPOCHREALTIME
			return 0
		}
		birth_running "$1" || break
		sleep 2
	done
	echo "# $1: no RPC answer: ${out:-}; log tail: $(birth_tail "$1" 10)" >&2
	return 1
}

birth_disk_sha() { # NAME: SHA-256 of the guest-visible bytes
	local f=${BIRTH_DISK[$1]}
	if [ "${BIRTH_DISKFMT[$1]}" = raw ]; then
		sha256sum <"$f" | cut -d' ' -f1
	else
		qemu-img convert -O raw "$f" "$f.sha.raw" && sha256sum <"$f.sha.raw" | cut -d' ' -f1
		rm -f "$f.sha.raw"
	fi
}

# birth_raw NAME OUT: the guest's disk as a raw file (for partition checks).
birth_raw() {
	if [ "${BIRTH_DISKFMT[$1]}" = raw ]; then
		ln -sf "${BIRTH_DISK[$1]}" "$2"
	else
		qemu-img convert -O raw "${BIRTH_DISK[$1]}" "$2"
	fi
}

birth_part_offset() { # RAWFILE PARTNAME: byte offset (and size as $2 of the output)
	sfdisk -J "$1" 2>/dev/null |
		jq -r --arg n "$2" '.partitiontable as $t | $t.partitions[] | select(.name == $n) |
			"\(.start * ($t.sectorsize // 512)) \(.size * ($t.sectorsize // 512))"'
}

# The stages of one boot from its timestamped log: "stage seconds" lines.
#   firmware  T0 (QEMU start, or $2) to the kernel's first line ("Linux version")
#   kernel    to "installer: starting" (or "hypervisor-appliance: starting")
#   <step>    each installer step's own "done in S s"
#   installed T0 to "installer: install complete"
#   ready     T0 to "hypervisor-appliance: ready"
birth_stages() { # LOG [T0]
	local log=$1 t0=${2:-}
	[ -n "$t0" ] || t0=$(cat "$log.t0")
	awk -v t0="$t0" '
		$1 < t0 { next }
		function at(t) { return sprintf("%.1f", t - t0) }
		!k && /Linux version/ { k = $1; print "firmware " at($1) }
		!s && / (installer|hypervisor-appliance): starting/ { s = $1; if (k) printf "kernel %.1f\n", $1 - k }
		/ installer: step [a-z]+: done in/ { for (i = 1; i <= NF; i++) if ($i == "step") { st = $(i+1); sub(":", "", st) }
			printf "%s %s\n", st, $(NF-1) }
		/ installer: install complete/ { print "installed " at($1) }
		!r && / hypervisor-appliance: ready/ { r = $1; print "ready " at($1) }
	' "$log.ts"
}

# Figures for bench/birth: birth_bench NAME KEY SECONDS...; birth_bench_line NAME PATH
# prints them as one "# birth-bench PATH key=value..." line.
declare -A BIRTH_BENCH
birth_bench() { # NAME KEY VALUE [KEY VALUE...]
	local name=$1
	shift
	while [ $# -ge 2 ]; do
		BIRTH_BENCH[$name]+="$1=$2 "
		shift 2
	done
}
birth_bench_line() { # NAME PATH
	echo "# birth-bench $2 accel=$(ss_qemu_accel) ${BIRTH_BENCH[$1]:-}"
}
_birth_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the whole birth, as each test does it (TAP lines) ----------------------------
# birth_install NAME MODE [SECS]: boots the installer (MODE cd | usb | uefi-cd) on the
# machine's blank disk, waits for "installer: install complete" and QEMU's exit (the
# installer reboots; QEMU runs with -no-reboot). 0 if both happened.
birth_install() {
	local name=$1 mode=$2 secs=${3:-900} st
	birth_qemu "$name" "$mode" || { t_fail "$name: QEMU starts"; return 1; }
	if birth_wait "$name" '(^|] )installer: (install complete|FAILED)' "$secs" &&
		grep -qaE '(^|] )installer: install complete' "${BIRTH_LOG[$name]}"; then
		t_ok "$name: the installer installs onto the blank disk ($(birth_elapsed "$name") s)"
	else
		t_fail "$name: the installer installs onto the blank disk" "$(birth_tail "$name")"
		birth_stop "$name"
		return 1
	fi
	for st in network validate fetch partition write; do
		if grep -qaE "(^|] )installer: step $st: done in" "${BIRTH_LOG[$name]}"; then
			t_ok "$name: step $st done"
		else
			t_fail "$name: step $st done" "$(grep -a "installer: step $st" "${BIRTH_LOG[$name]}" | tr -d '\r' | tail -2 | tr '\n' '|')"
		fi
	done
	if birth_wait_exit "$name" 120; then
		BIRTH_EXIT_AT=$EPOCHREALTIME
		t_ok "$name: the installer reboots (QEMU exits: -no-reboot)"
	else
		t_fail "$name: the installer reboots (QEMU exits: -no-reboot)"
		birth_stop "$name"
	fi
	local stages
	sleep 0.5 # the timestamping reader catches up
	stages=$(birth_stages "${BIRTH_LOG[$name]}" | tr '\n' ' ')
	echo "# $name install stages: $stages"
	# shellcheck disable=SC2086 # pairs of words
	birth_bench "$name" $stages install_total "$(_birth_secs "${BIRTH_T0[$name]}" "${BIRTH_EXIT_AT:-$EPOCHREALTIME}")"
}

birth_elapsed() { # NAME: seconds since QEMU started (this run)
	awk -v a="${BIRTH_T0[$1]}" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# birth_boot_disk NAME [MODE] [SECS]: restarts from the disk alone (no ISO, no network
# boot, no -kernel), waits for the appliance and its hypervisor's RPC answer.
birth_boot_disk() {
	local name=$1 mode=${2:-disk} secs=${3:-600}
	# The serial line is also a socket: on failure the daemon's log is typed out.
	BIRTH_SERIAL_SOCK=1 birth_qemu "$name" "$mode" -boot c || { t_fail "$name: QEMU starts from the disk"; return 1; }
	if birth_wait "$name" '(^|] )hypervisor-appliance: ready' "$secs"; then
		t_ok "$name: the disk alone boots the appliance ($(birth_elapsed "$name") s)"
	else
		t_fail "$name: the disk alone boots the appliance" "$(birth_tail "$name")"
		return 1
	fi
	if birth_wait_rpc "$name" 180; then
		local b
		b=$(birth_stages "${BIRTH_LOG[$name]}" | tr '\n' ' ')
		echo "# $name disk boot stages: $b rpc $(_birth_secs "${BIRTH_T0[$name]}" "$BIRTH_RPC_AT")"
		# shellcheck disable=SC2046 # pairs of words
		birth_bench "$name" $(awk '{ for (i = 1; i < NF; i += 2) printf "disk_%s %s ", $i, $(i + 1) }' <<<"$b") \
			boot_rpc "$(_birth_secs "${BIRTH_T0[$name]}" "$BIRTH_RPC_AT")"
		t_ok "$name: the installed hypervisor answers RPC ($(awk -v a="${BIRTH_T0[$name]}" -v b="$BIRTH_RPC_AT" 'BEGIN { printf "%.1f", b - a }') s after power-on)"
	else
		birth_type "$name" 'tail -n 15 /var/log/hypervisor/daemon.log; ip -br addr' 2>/dev/null
		sleep 3
		t_fail "$name: the installed hypervisor answers RPC" "$(birth_tail "$name" 20)"
		return 1
	fi
}

# birth_check_appliance NAME: hostname and subnets as config.json said.
birth_check_appliance() {
	local name=$1
	t_expect "$name: its hostname is ${BIRTH_HOST[$name]} (status page)" "^${BIRTH_HOST[$name]}\$" \
		birth_host "$name"
	t_expect "$name: Hypervisor.ListSubnets has the configured subnet" \
		"\"Id\":\"birthnet\".*\"IpGateway\":\"$BIRTH_GW\"" birth_rpc "$name" Hypervisor.ListSubnets '{}'
}

# The installed disk of birth_iso.sh, kept for the tests that start from an installed
# machine (kexec), with the certificates it trusts: $BIRTH_FIXTURE/{disk.qcow2,certs/}.
BIRTH_FIXTURE=${BIRTH_FIXTURE:-$SS_TOP/build/birth-fixture}
birth_fixture_save() { # NAME IDX
	local name=$1 tmp=$BIRTH_FIXTURE.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	qemu-img convert -O qcow2 "${BIRTH_DISK[$name]}" "$tmp/disk.qcow2" &&
		cp -a "$C" "$tmp/certs" &&
		echo "$2" >"$tmp/idx" || return 1
	rm -rf "$BIRTH_FIXTURE"
	mv "$tmp" "$BIRTH_FIXTURE"
}
# Usable when it exists and is newer than the images it was made from.
birth_fixture_fresh() {
	[ -f "$BIRTH_FIXTURE/disk.qcow2" ] && [ -f "$BIRTH_FIXTURE/idx" ] &&
		[ "$BIRTH_FIXTURE/disk.qcow2" -nt "$BIRTH_IMAGES/hypervisor/initrd.img" ] &&
		[ "$BIRTH_FIXTURE/disk.qcow2" -nt "$BIRTH_IMAGES/installer/initrd.img" ]
}
# birth_overlay NAME: the machine boots from a qcow2 overlay of the fixture.
birth_overlay() {
	mkdir -p "$BIRTH_DIR/$1"
	qemu-img create -q -f qcow2 -F qcow2 -b "$BIRTH_FIXTURE/disk.qcow2" "$BIRTH_DIR/$1/disk.qcow2" &&
		birth_use_disk "$1" "$BIRTH_DIR/$1/disk.qcow2" qcow2
}
