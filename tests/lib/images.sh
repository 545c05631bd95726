# shellcheck shell=bash
# Helpers for the image tests (sourced after tests/lib/tap.sh).
#   images_setup          work dir $IMG_WORK (removed at exit), accelerator $IMG_ACCEL/$IMG_CPU
#   images_boot NAME LIMIT DONE_REGEX QEMU_ARGS...
#                         boots QEMU with the serial console in $IMG_WORK/NAME.log until
#                         DONE_REGEX shows up, QEMU exits or LIMIT seconds pass; QEMU is
#                         killed in every case. Sets IMG_FIRST (seconds to the first
#                         "installer:"/"hypervisor-appliance:" line) and IMG_TOTAL.
#   images_ovmf_vars NAME prints a fresh copy of OVMF_VARS for one run
#   images_fail_log NAME  the last console lines, for a failure message

images_setup() {
  IMG_WORK=$(mktemp -d "/tmp/$SS_ID-images.XXXXXX")
  t_cleanup rm -rf "$IMG_WORK"
  IMG_ACCEL=tcg
  if [ -f "$SS_TOP/tests/lib/qemu.sh" ]; then
    # shellcheck source=/dev/null
    . "$SS_TOP/tests/lib/qemu.sh"
    if command -v ss_qemu_accel >/dev/null 2>&1; then
      IMG_ACCEL=$(ss_qemu_accel)
    fi
  elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    IMG_ACCEL=$(images_probe_kvm)
  fi
  IMG_CPU=max
  [ "$IMG_ACCEL" = kvm ] && IMG_CPU=host
  echo "# qemu accelerator: $IMG_ACCEL"
}

# KVM only if a tiny guest really boots with it (some /dev/kvm variants hang).
images_probe_kvm() {
  local log=$IMG_WORK/kvm-probe.log kernel
  kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -1)
  [ -f "$kernel" ] || { echo tcg; return; }
  timeout -k 2 15 qemu-system-x86_64 -name "$SS_ID-kvmprobe" -accel kvm -cpu host -m 256 \
    -display none -monitor none -serial "file:$log" -no-reboot -kernel "$kernel" \
    -append "console=ttyS0 panic=-1" >/dev/null 2>&1 </dev/null
  if grep -qa 'Linux version' "$log" 2>/dev/null; then echo kvm; else echo tcg; fi
}

images_boot() {
  local name=$1 limit=$2 done=$3 log pid start now first=
  shift 3
  log=$IMG_WORK/$name.log
  : >"$log"
  start=$(date +%s%N)
  qemu-system-x86_64 -name "$SS_ID-$name" -accel "$IMG_ACCEL" -cpu "$IMG_CPU" \
    -display none -monitor none -serial "file:$log" -no-reboot "$@" \
    >"$IMG_WORK/$name.qemu.log" 2>&1 </dev/null &
  pid=$!
  t_cleanup kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    now=$(date +%s%N)
    if [ -z "$first" ] && grep -qaE '^(installer|hypervisor-appliance): starting' "$log"; then
      first=$(( (now - start) / 1000000 ))
    fi
    grep -qaE "$done" "$log" && break
    [ $(( (now - start) / 1000000000 )) -ge "$limit" ] && break
    sleep 0.2
  done
  now=$(date +%s%N)
  # QEMU may have powered off between two polls.
  if [ -z "$first" ] && grep -qaE '^(installer|hypervisor-appliance): starting' "$log"; then
    first=$(( (now - start) / 1000000 ))
  fi
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # The serial console ends lines with CR LF.
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  IMG_TOTAL=$(awk -v ms=$(( (now - start) / 1000000 )) 'BEGIN { printf "%.1f", ms / 1000 }')
  IMG_FIRST=$(awk -v ms="${first:-0}" 'BEGIN { printf "%.1f", ms / 1000 }')
  if [ -n "$first" ]; then
    echo "# boot $name: first line at $IMG_FIRST s, done after $IMG_TOTAL s"
  else
    echo "# boot $name: no first line, gave up after $IMG_TOTAL s"
  fi
  grep -qaE "$done" "$log"
}

images_ovmf_vars() {
  local vars=$IMG_WORK/$1.vars.fd
  cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
  echo "$vars"
}

images_fail_log() {
  tr -d '\033' <"$IMG_WORK/$1.log" | grep -av '^\s*$' | tail -6 | tr '\n' '|'
}
