# shellcheck shell=bash
# The upgrade agent's test bench (sourced, bash, after tests/lib/tap.sh): the
# hypervisor's environment (tests/lib/hyper.sh), and in its network namespace a real
# imageserver holding appliance-like images hypervisor/<VERSION> (random vmlinuz and
# initrd.img, a manifest.json) and a real fleet-manager whose topology has this host
# (its hostname: the agent asks for gethostname()) requiring hypervisor/v1. All
# certificates come from the hypervisor's CA.
#
#   upg_setup CIDR VERSION...  the above; $d is the bench's directory, $HOST this host
#   tag IMAGE                  ChangeMachineTags RequiredImage=IMAGE (fleet admin)
#   reboots                    how often the reboot command ($d/reboot.sh) ran
#   status [CERT]              GetUpgradeStatus (admin by default)
#   field JQ / wait_field JQ WANT [SECS] / compact / health_code
#   AGENT                      the agent's flags common to the tests (fleet manager,
#                              image server, 1 s interval, 5 s trial, $d/cmdline,
#                              $d/reboot.sh); a test adds where its slots are

. "$SS_TOP/tests/lib/hyper.sh"

upg_setup() { # CIDR VERSION...
	local cidr=$1 v
	shift
	hv_setup "${SS_ID}br" "$cidr" || return 1
	d=$HV_DIR/upg
	mkdir -p "$d"/{is,fm/state,fm/log,home/.ssl,src}
	export HOME=$d/home
	# The imageserver's and fleet manager's certificates from the hypervisor's CA, and
	# admins of both.
	if ! { _hv_cert "$C/server" imgsrv localhost "$C/ca" &&
		_hv_cert "$C/server" fm localhost "$C/ca" &&
		_hv_cert "$C/admin" fmadmin fmadmin "$C/ca" 'FleetManager.*' &&
		_hv_cert "$C/admin" imgadmin imgadmin "$C/ca" 'ImageServer.*' 'ObjectServer.*'; }; then
		t_fail "certificates"
		return 1
	fi
	cp "$C/admin/imgadmin.cert" "$C/admin/imgadmin.key" "$HOME/.ssl/"
	_upg_imageserver || return 1
	t_check "mkdir hypervisor" it mkdir hypervisor
	for v in "$@"; do
		_upg_image "$v"
		t_check "add hypervisor/$v" it add "hypervisor/$v" "$d/src/$v"
	done
	_upg_fleet_manager || return 1
	printf '#!/bin/sh\necho reboot >>"%s/reboots"\n' "$d" >"$d/reboot.sh"
	chmod +x "$d/reboot.sh"
	# shellcheck disable=SC2034 # read by the tests
	AGENT=(-fleetManagerHostname=localhost -fleetManagerPortNum=6977 -upgradeCheckInterval=1s
		-upgradeTrialTimeout=5s -upgradeCmdlineFile="$d/cmdline"
		-upgradeRebootCommand="$d/reboot.sh" -imageServerHostname=localhost
		-imageServerPortNum="$ISPORT")
}

_upg_imageserver() {
	ISPORT=6971
	ip netns exec "$HV_NS" "$SS_BIN/imageserver" -portNum=$ISPORT -imageDir="$d/is/images" \
		-objectDir="$d/is/objects" -CAfile="$C/ca/ca.pem" -identityCAfile="$C/idca/ca.pem" \
		-certFile="$C/server/imgsrv.cert" -keyFile="$C/server/imgsrv.key" -logDir="$d/is/log" \
		>"$d/is/stderr" 2>&1 &
	IS_PID=$!
	t_cleanup kill "$IS_PID"
	for _ in $(seq 100); do hv_ns curl -sf -o /dev/null "http://127.0.0.1:$ISPORT/" && break; sleep 0.1; done
	hv_ns curl -sf -o /dev/null "http://127.0.0.1:$ISPORT/" && t_ok "imageserver starts" && return 0
	t_fail "imageserver starts" "$(tail -3 "$d/is/stderr")"
	return 1
}

it() { hv_ns "$SS_BIN/imagetool" -imageServerPortNum="$ISPORT" -CAfile="$C/ca/ca.pem" "$@"; }

_upg_image() { # VERSION: an appliance-like tree under $d/src/VERSION
	local s=$d/src/$1
	mkdir -p "$s"
	head -c 300000 /dev/urandom >"$s/vmlinuz"
	head -c 200000 /dev/urandom >"$s/initrd.img"
	echo "{\"Version\":\"$1\"}" >"$s/manifest.json"
}

_upg_fleet_manager() {
	HOST=$(hostname)
	mkdir -p "$d/fm/topology/LAB"
	cp -r "$SS_TOP/tests/fixtures/topology/." "$d/fm/topology/"
	printf '[{"Hostname": "%s", "HostIpAddress": "10.116.0.77", "HostMacAddress": "52:54:00:00:74:01",
  "Tags": {"Type": "lab", "RequiredImage": "hypervisor/v1"}}]\n' "$HOST" >"$d/fm/topology/LAB/machines.json"
	ip netns exec "$HV_NS" "$SS_BIN/fleet-manager" -stateDir="$d/fm/state" -logDir="$d/fm/log" \
		-portNum=6977 -CAfile="$C/ca/ca.pem" -certFile="$C/server/fm.cert" \
		-keyFile="$C/server/fm.key" -topologyDir="$d/fm/topology" -manageHypervisors \
		-alsoLogToStderr >"$d/fm/stderr" 2>&1 &
	FM_PID=$!
	t_cleanup kill "$FM_PID"
	for _ in $(seq 100); do hv_ns curl -sf -o /dev/null "http://127.0.0.1:6977/healthz" && break; sleep 0.1; done
	hv_ns curl -sf -o /dev/null "http://127.0.0.1:6977/healthz" && t_ok "fleet manager starts" && return 0
	t_fail "fleet manager starts" "$(tail -3 "$d/fm/stderr")"
	return 1
}

fm_rpc() {
	hv_ns "$SS_BIN/srpc-testc" -addr=127.0.0.1:6977 -serverName=localhost \
		-certFile="$C/admin/fmadmin.cert" -keyFile="$C/admin/fmadmin.key" \
		-CAfile="$C/ca/ca.pem" -timeout=30s call "$@"
}
tag() { fm_rpc FleetManager.ChangeMachineTags "{\"Hostname\":\"$HOST\",\"Tags\":{\"RequiredImage\":\"$1\"}}"; }
reboots() { if [ -f "$d/reboots" ]; then wc -l <"$d/reboots"; else echo 0; fi; }
status() { rpc "${1:-admin}" Hypervisor.GetUpgradeStatus '{}'; }
field() { status admin | jq -r "$1"; }
wait_field() { # JQ WANT [SECS]
	local i
	for ((i = 0; i < ${3:-30} * 10; i++)); do
		[ "$(field "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1 is $(field "$1" 2>&1) after ${3:-30}s, not $2: $(status admin 2>&1 | tr '\n' ' ')"
	return 1
}
compact() { status admin | jq -c .; }
health_code() { hv_curl health -o /dev/null -w '%{http_code}'; }
