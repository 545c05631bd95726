#!/usr/bin/env bash
# Checks the layering of the C tree (DESIGN.md, docs/ARCHITECTURE.md):
#   1. no circle between units: a unit (one .o) depends on another when it uses a
#      symbol the other defines; the graph must sort (tsort) without a loop;
#   2. the folder rules: which part may use which (from the objects) and include which
#      (from the sources).
# Usage: tools/layers.sh [BUILD_DIR]   (default build; run after make)
# Prints one line per violation and exits 1 if there is any.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
obj=${1:-$top/build}/obj
bad=0
[ -d "$obj" ] || { echo "layers: no objects in $obj (run make first)" >&2; exit 2; }
cd "$top" || exit 2

# Units of the daemons, the tools and lib/ (the programs' main files too).
mapfile -t objs < <(cd "$obj" && find lib daemon tools installer -name '*.o' 2>/dev/null | sort)
[ "${#objs[@]}" -gt 0 ] || { echo "layers: no objects found" >&2; exit 2; }
defs=$(mktemp) uses=$(mktemp) edges=$(mktemp)
trap 'rm -f "$defs" "$uses" "$edges"' EXIT
for o in "${objs[@]}"; do
	u=${o%.o}
	nm --defined-only "$obj/$o" | awk -v u="$u" '$2 ~ /^[TDBR]$/ {print $3, u}' >>"$defs"
	nm --undefined-only "$obj/$o" | awk -v u="$u" '{print $2, u}' >>"$uses"
done
sort -u -o "$defs" "$defs"
sort -u -o "$uses" "$uses"
# user -> definer, for symbols defined by our own units
join "$uses" "$defs" | awk '$2 != $3 {print $2, $3}' | sort -u >"$edges"

# 1. circles
if ! loops=$(tsort "$edges" 2>&1 >/dev/null) || [ -n "$loops" ]; then
	echo "$loops" | sed -n 's/^tsort: //p' | grep -v 'input contains a loop' | sed 's/^/circle: /'
	bad=1
fi

# 2. folder rules: part of a unit = its folder under daemon/hypervisor/ (or the top).
part() {
	case "$1" in
	lib/*) echo lib ;;
	daemon/hypervisor/vmm/*) echo vmm ;;
	daemon/hypervisor/netsvc/*) echo netsvc ;;
	daemon/hypervisor/metadata/*) echo metadata ;;
	daemon/hypervisor/rpc/*) echo rpc ;;
	daemon/hypervisor/status/*) echo status ;;
	daemon/hypervisor/upgrade/*) echo upgrade ;;
	daemon/hypervisor/*) echo hypervisor ;;
	daemon/*/*) echo "daemon:${1#daemon/}" | cut -d/ -f1 ;;
	tools/*/*) echo "tool:${1#tools/}" | cut -d/ -f1 ;;
	installer/*) echo installer ;;
	*) echo other ;;
	esac
}
# allowed "from to" pairs besides a part using itself and lib
allowed=" vmm:netsvc vmm:metadata rpc:vmm rpc:netsvc status:vmm status:netsvc "
allowed+=" hypervisor:vmm hypervisor:netsvc hypervisor:metadata hypervisor:rpc hypervisor:status "
# The upgrade agent fetches images through the manager's object cache; RPC and /health
# read its status, and /health asks the metadata service whether it is ready.
allowed+=" upgrade:vmm rpc:upgrade status:upgrade status:metadata hypervisor:upgrade "
while read -r from to; do
	pf=$(part "$from") pt=$(part "$to")
	[ "$pf" = "$pt" ] && continue
	[ "$pt" = lib ] && [ "$pf" != lib ] && continue
	case "$allowed" in *" $pf:$pt "*) continue ;; esac
	echo "layer: $from ($pf) uses $to ($pt)"
	bad=1
done <"$edges"

# Includes (sources): lib knows nothing of ours; programs never include each other;
# the network services and the metadata service never include the manager, RPC or
# status; the manager never includes RPC or status.
check_inc() { # DIR PATTERN WHY
	local hits
	hits=$(git grep -nE "#include \"($2)" -- "$1" 2>/dev/null)
	[ -z "$hits" ] && return 0
	while IFS= read -r h; do echo "include ($3): $h"; done <<<"$hits"
	bad=1
}
check_inc 'lib/' 'daemon/|tools/|installer/' 'lib depends on nothing of ours'
check_inc 'tools/' 'daemon/|installer/' 'tools talk to daemons over the wire'
check_inc 'installer/' 'daemon/|tools/' 'the installer talks to daemons over the wire'
check_inc 'daemon/hypervisor/netsvc/' 'daemon/hypervisor/(vmm|rpc|status|metadata)/' 'netsvc stands alone'
check_inc 'daemon/hypervisor/metadata/' 'daemon/hypervisor/(vmm|rpc|status|netsvc)/' 'metadata stands alone'
check_inc 'daemon/hypervisor/vmm/' 'daemon/hypervisor/(rpc|status)/' 'the manager knows no RPC or pages'
exit "$bad"
