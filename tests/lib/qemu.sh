# shellcheck shell=bash
# QEMU helpers shared by the e2e and integration tests (sourced, bash).
#   ss_qemu_accel            prints "kvm" if a probe boot under KVM reaches its marker
#                            within a short timeout, else "tcg" (cached per build dir)
#   ss_qemu_cpu              prints the -cpu value that goes with it (host / max)
#   ss_test_kernel           prints the path of a Debian kernel (vmlinuz)
#   ss_test_kmods_dir        prints /lib/modules/<version> of that kernel
#   ss_marker_initrd OUT [SNIPPET_FILE]
#                            writes a gzip newc initramfs (busybox-static) whose init
#                            mounts proc/sys/dev, prints "SS-MARKER: booted" on the
#                            console, sources SNIPPET_FILE if given, then powers off.
#                            SS_INITRD_MODULES="virtio_net ext4 ..." adds those modules
#                            with their modules.dep closure (loaded in order at boot).
#   ss_wait_for FILE PATTERN SECONDS
#                            waits until FILE contains PATTERN (grep -E); 0 if seen
# Never use -accel kvm:tcg (shared/research/machine.md: it picks a broken KVM and hangs).

ss_test_kernel() {
	local k
	k=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
	[ -f "$k" ] || return 1
	echo "$k"
}

ss_test_kmods_dir() {
	local k
	k=$(ss_test_kernel) || return 1
	echo "/lib/modules/${k#/boot/vmlinuz-}"
}

# Ordered module closure: dependencies first, each once.
_ss_mod_closure() {
	local dir=$1; shift
	local -A seen=()
	local closure=()
	_ss_mod_add() {
		local name=$1 line path dep
		line=$(grep -E "(^|/)${name//-/[-_]}\.ko(\.[a-z]+)?:" "$dir/modules.dep" | head -n 1)
		[ -n "$line" ] || return 0 # built in
		path=${line%%:*}
		[ -n "${seen[$path]:-}" ] && return 0
		seen[$path]=1
		for dep in ${line#*:}; do
			dep=$(basename "$dep"); dep=${dep%%.ko*}
			_ss_mod_add "$dep"
		done
		closure+=("$path")
	}
	local m
	for m in "$@"; do _ss_mod_add "$m"; done
	printf '%s\n' "${closure[@]}"
}

ss_marker_initrd() {
	local out=$1 snippet=${2:-} root kdir m
	root=$(mktemp -d "/tmp/${SS_ID:-ss0}-initrd.XXXXXX") || return 1
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc,lib/modules,usr/share/udhcpc}
	cp /bin/busybox "$root/bin/busybox"
	for m in sh mount umount echo cat sleep poweroff reboot insmod ip udhcpc ifconfig route \
		ls mkdir grep sed wget nc hostname dmesg uname cut head tail tr; do
		ln -s busybox "$root/bin/$m"
	done
	: >"$root/lib/modules/load.list"
	if [ -n "${SS_INITRD_MODULES:-}" ]; then
		kdir=$(ss_test_kmods_dir) || return 1
		# shellcheck disable=SC2086 # SS_INITRD_MODULES is a list of module names
		for m in $(_ss_mod_closure "$kdir" $SS_INITRD_MODULES); do
			local f=$kdir/$m base
			base=$(basename "$m")
			case "$base" in
			*.ko.xz) xz -dc "$f" >"$root/lib/modules/${base%.xz}"; base=${base%.xz} ;;
			*.ko.zst) zstd -qdc "$f" >"$root/lib/modules/${base%.zst}"; base=${base%.zst} ;;
			*) cp "$f" "$root/lib/modules/$base" ;;
			esac
			echo "$base" >>"$root/lib/modules/load.list"
		done
	fi
	cat >"$root/usr/share/udhcpc/default.script" <<'EOS'
#!/bin/sh
case "$1" in
bound|renew)
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	[ -n "$router" ] && route add default gw "${router%% *}" dev "$interface"
	echo "SS-DHCP: $interface $ip router=${router:-} dns=${dns:-} host=${hostname:-} domain=${domain:-}"
	;;
esac
exit 0
EOS
	chmod 755 "$root/usr/share/udhcpc/default.script"
	# Debian's busybox looks for its script in /etc/udhcpc.
	mkdir -p "$root/etc/udhcpc"
	ln -s /usr/share/udhcpc/default.script "$root/etc/udhcpc/default.script"
	cat >"$root/init" <<'EOS'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
while read -r m; do [ -n "$m" ] && insmod "/lib/modules/$m" 2>/dev/null; done </lib/modules/load.list
echo "SS-MARKER: booted"
[ -f /snippet.sh ] && . /snippet.sh
echo "SS-MARKER: done"
poweroff -f
EOS
	chmod 755 "$root/init"
	[ -n "$snippet" ] && cp "$snippet" "$root/snippet.sh"
	(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -n -1 >"$out"
	local rc=$?
	rm -rf "$root"
	return $rc
}

ss_wait_for() {
	local file=$1 pat=$2 secs=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		grep -qE -- "$pat" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

ss_qemu_accel() {
	local cache=${SS_BUILD:-/tmp}/.qemu-accel
	if [ -s "$cache" ]; then cat "$cache"; return 0; fi
	local accel=tcg k d
	if [ -w /dev/kvm ] && k=$(ss_test_kernel); then
		d=$(mktemp -d "/tmp/${SS_ID:-ss0}-kvmprobe.XXXXXX")
		if ss_marker_initrd "$d/initrd" && timeout -k 2 20 qemu-system-x86_64 -accel kvm -cpu host \
			-m 256 -nodefaults -nographic -no-reboot -serial "file:$d/log" \
			-kernel "$k" -initrd "$d/initrd" -append "console=ttyS0 quiet panic=-1" \
			>/dev/null 2>&1 </dev/null && grep -q 'SS-MARKER: booted' "$d/log"; then
			accel=kvm
		fi
		rm -rf "$d"
	fi
	echo "$accel" >"$cache" 2>/dev/null || true
	echo "$accel"
}

ss_qemu_cpu() {
	if [ "$(ss_qemu_accel)" = kvm ]; then echo host; else echo max; fi
}
