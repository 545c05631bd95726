# shellcheck shell=bash
# A second hypervisor environment beside tests/lib/hyper.sh's (sourced after it), for
# tests of two daemons (migration): each environment has its own directory, network
# namespace, libvirt and daemon; hyper.sh's functions act on the current one.
#
#   hv2_save NAME      remember the current environment as NAME
#   hv2_use NAME       make NAME the current environment (HV_DIR, HV_NS, HV_URI, HV_PID,
#                      HV_STATE, HV_LOG)
#   hv2_cleanup NAME   hv_cleanup of NAME (register with t_cleanup after hv2_save)
#   hv2_link A B IFA IFB  a veth pair between the namespaces of A and B, IFA in A's
#                      namespace and IFB in B's, both up
#   hv2_enslave IF BR  put IF into bridge BR of the current namespace

_HV2_VARS="HV_DIR HV_NS HV_URI HV_PID HV_STATE HV_LOG"

hv2_save() {
	local v
	for v in $_HV2_VARS; do eval "_hv2_${1}_$v=\${$v:-}"; done
}

hv2_use() {
	local v
	for v in $_HV2_VARS; do eval "$v=\${_hv2_${1}_$v:-}"; done
}

hv2_cleanup() { # also keeps NAME's daemon output as build/test-logs/<test>-hypervisor-NAME.out
	hv2_use "$1"
	hv_daemon_kill9
	mkdir -p "$SS_TOP/build/test-logs"
	cat "$HV_DIR/daemon.out" "$HV_DIR"/daemon-log/* >"$SS_TOP/build/test-logs/$(basename "$0" .sh)-hypervisor-$1.out" 2>/dev/null
	hv_cleanup
}

hv2_link() { # A B IFA IFB
	local nsa nsb
	nsa=$(eval echo "\$_hv2_${1}_HV_NS")
	nsb=$(eval echo "\$_hv2_${2}_HV_NS")
	ip netns exec "$nsa" ip link add "$3" type veth peer name "$4" netns "$nsb" &&
		ip netns exec "$nsa" ip link set "$3" up &&
		ip netns exec "$nsb" ip link set "$4" up
}

hv2_enslave() { hv_ns ip link set "$1" master "$2"; }
