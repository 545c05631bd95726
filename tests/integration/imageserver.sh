#!/usr/bin/env bash
# timeout: 300
# The image server (build/bin/imageserver) as real processes over mutual TLS on
# loopback: every ImageServer and ObjectServer method and its refusals (no certificate,
# identity-only certificate, wrong grant), traversal names, FindLatestImage's rules,
# expiry, object GC, restart, kill -9 during an AddObjects, a full disk on a small
# tmpfs, the status page and /metrics. The RR calls go through srpc-testc, the streaming
# ones through tests/lib/srpc_raw.py (exact bytes of the original's JSON wire forms),
# and lib/image/client.c through imgclient-testc.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/srpc.sh"
. "$SS_TOP/tests/lib/prom.sh"
t_require openssl "certificates are made at test time"
t_require curl "the pages are read with curl"
t_require python3 "the streaming methods are driven by tests/lib/srpc_raw.py"
scale=${SS_TIMEOUT_SCALE:-1}

d=$(mktemp -d "/tmp/${SS_ID}-imgsrv.XXXXXX")
t_cleanup rm -rf "$d"
if ! { srpc_ca "$d" CA && srpc_ca "$d" IdentityCA &&
  srpc_cert "$d" server CA imageserver san=DNS:localhost,IP:127.0.0.1 &&
  srpc_cert "$d" admin CA admin grants='ImageServer.*,ObjectServer.*' &&
  srpc_cert "$d" idonly IdentityCA installer &&
  srpc_cert "$d" wrong CA stranger grants='Hypervisor.*'; }; then
  t_fail "make certificates"
  exit 0
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
srv_pid=""
start_server() { # IMAGEDIR OBJECTDIR [flags...]
  local img=$1 obj=$2 i
  shift 2
  "$SS_BIN/imageserver" -portNum="$port" -imageDir="$img" -objectDir="$obj" \
    -certFile="$d/server.cert" -keyFile="$d/server.key" -CAfile="$d/CA.pem" \
    -identityCAfile="$d/IdentityCA.pem" -logDir="$d/log" -alsoLogToStderr "$@" \
    >>"$d/server.out" 2>&1 &
  srv_pid=$!
  t_cleanup kill -9 "$srv_pid"
  for ((i = 0; i < 200 * scale; i++)); do
    curl -sf --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$srv_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
stop_server() { # SIGTERM and wait
  local i
  kill "$srv_pid" 2>/dev/null
  for ((i = 0; i < 100 * scale; i++)); do
    kill -0 "$srv_pid" 2>/dev/null || { wait "$srv_pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -9 "$srv_pid"
  return 1
}
rr() { # CERT METHOD JSON: one RR call
  local cert=$1
  shift
  if [ "$cert" = none ]; then
    "$SS_BIN/srpc-testc" -addr="127.0.0.1:$port" -CAfile="$d/CA.pem" -timeout=30s call "$@"
  else
    "$SS_BIN/srpc-testc" -addr="127.0.0.1:$port" -CAfile="$d/CA.pem" -timeout=30s \
      -certFile="$d/$cert.cert" -keyFile="$d/$cert.key" call "$@"
  fi
}
raw() { # CERT ARGS...: tests/lib/srpc_raw.py
  local cert=$1
  shift
  if [ "$cert" = none ]; then
    python3 "$SS_TOP/tests/lib/srpc_raw.py" --ca "$d/CA.pem" "127.0.0.1:$port" "$@"
  else
    python3 "$SS_TOP/tests/lib/srpc_raw.py" --ca "$d/CA.pem" -c "$d/$cert.cert" \
      -k "$d/$cert.key" "127.0.0.1:$port" "$@"
  fi
}
ic() { # CERT ARGS...: imgclient-testc (lib/image/client.c)
  local cert=$1
  shift
  "$SS_BIN/imgclient-testc" -addr="127.0.0.1:$port" -CAfile="$d/CA.pem" \
    -certFile="$d/$cert.cert" -keyFile="$d/$cert.key" "$@"
}
get() { curl -sS --max-time 10 "http://127.0.0.1:$port$1"; }
sha() { sha512sum "$1" | cut -d' ' -f1; }
# mkimage OUT [key=value...]: an AddImage request {ImageName, Image} whose FileSystem
# holds the files given as file=PATH (regular files at the root, by base name).
mkimage() {
  python3 - "$@" <<'EOF'
import hashlib, json, os, sys
out, args = sys.argv[1], sys.argv[2:]
o = {"name": "", "created": "2020-01-01T00:00:00Z", "expires": "0001-01-01T00:00:00Z",
     "commit": "", "branch": "", "tags": None, "entry": None}
files = []
for a in args:
    k, v = a.split("=", 1)
    if k == "file":
        files.append(v)
    elif k == "tags":
        o["tags"] = json.loads(v)
    else:
        o[k] = v
table, entries, total = {}, [], 0
for i, path in enumerate(files, start=1):
    data = open(path, "rb").read()
    ino = {"Mode": 0o100644, "Uid": 0, "Gid": 0, "MtimeNanoSeconds": 0,
           "MtimeSeconds": 1600000000, "Size": len(data)}
    if data:
        ino["Hash"] = hashlib.sha512(data).hexdigest()
    table[str(i)] = ino
    entries.append({"Name": o["entry"] or os.path.basename(path), "InodeNumber": i})
    total += len(data)
fs = {"InodeTable": table, "NumRegularInodes": len(files), "TotalDataBytes": total,
      "DirectoryCount": 1, "EntryList": entries, "Mode": 0o40755, "Uid": 0, "Gid": 0}
img = {"BuildBranch": o["branch"], "BuildCommitId": o["commit"], "CreatedBy": "test",
       "FileSystem": fs, "CreatedOn": o["created"], "ExpiresAt": o["expires"],
       "Tags": o["tags"]}
json.dump({"ImageName": o["name"], "Image": img}, open(out, "w"))
EOF
}
in_secs() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }

mkdir -p "$d/files" "$d/got"
printf 'hello' >"$d/files/small"
head -c 1048576 /dev/urandom >"$d/files/big"
head -c 3000 /dev/urandom >"$d/files/third"
head -c 4000 /dev/urandom >"$d/files/orphan"
h_small=$(sha "$d/files/small") h_big=$(sha "$d/files/big") h_third=$(sha "$d/files/third")
h_orphan=$(sha "$d/files/orphan")
absent=$(printf 'never uploaded' | sha512sum | cut -d' ' -f1)

store=$d/store
if ! start_server "$store/images" "$store/objects" -gcInterval=0 -maxConcurrentGetObjects=2; then
  t_fail "imageserver starts" "$(tail -5 "$d/server.out")"
  exit 0
fi
t_ok "imageserver starts (port $port)"
t_expect "the Logger service is served too (lib/log_rpc.c)" \
  '^Logger\.Debug Logger\.GetStackTrace Logger\.Print Logger\.SetDebugLevel Logger\.Watch $' \
  bash -c "curl -sS --max-time 10 'http://127.0.0.1:$port/_goSRPC_/listMethods' | grep '^Logger' | tr '\n' ' '"
t_expect "-h lists the flags" 'imageDir.*|objectDir' "$SS_BIN/imageserver" -h
t_expect_fail --exit=2 "an unknown flag is a usage error" 'flag provided but not defined' \
  "$SS_BIN/imageserver" -nope
t_expect_fail --exit=1 "a missing certificate stops the start with the reason on stderr" \
  'imageserver: TLS: .*nonexistent' "$SS_BIN/imageserver" -portNum="$(free_port)" \
  -imageDir="$d/ximg" -objectDir="$d/xobj" -logDir="$d/xlog" -certFile="$d/nonexistent.cert" \
  -keyFile="$d/server.key" -CAfile="$d/CA.pem" -identityCAfile="$d/IdentityCA.pem"
t_expect_fail --exit=2 "-objectDir inside -imageDir is refused" 'must not contain each other' \
  "$SS_BIN/imageserver" -imageDir="$d/x" -objectDir="$d/x/objects"

# --- access ---
t_expect_fail "no certificate: refused" 'certificate|handshake' \
  rr none ImageServer.CheckDirectory '{"DirectoryName":"a"}'
t_expect "identity-only certificate may read (CheckDirectory)" '^\{"DirectoryExists":false\}$' \
  rr idonly ImageServer.CheckDirectory '{"DirectoryName":"a"}'
t_expect_fail "identity-only certificate: MakeDirectory refused" 'denied' \
  rr idonly ImageServer.MakeDirectory '{"DirectoryName":"a","MakeAll":false}'
t_expect_fail "wrong grant: MakeDirectory refused" 'denied' \
  rr wrong ImageServer.MakeDirectory '{"DirectoryName":"a","MakeAll":false}'
t_expect_fail "identity-only certificate: AddObjects refused" 'refused: .*denied' \
  raw idonly add-objects "$d/files/small"
t_expect_fail "no certificate: GetObjects refused" 'CONNECT|refused|certificate|alert|SSL' \
  raw none get-objects "$d/got" "$h_small"

# --- directories and names ---
t_expect "MakeDirectory a" '^\{\}$' rr admin ImageServer.MakeDirectory '{"DirectoryName":"a","MakeAll":false}'
t_expect_fail "MakeDirectory a again: refused" 'already exists' \
  rr admin ImageServer.MakeDirectory '{"DirectoryName":"a","MakeAll":false}'
t_expect_fail "MakeDirectory x/y without MakeAll: no parent" 'no parent directory for: x/y' \
  rr admin ImageServer.MakeDirectory '{"DirectoryName":"x/y","MakeAll":false}'
t_expect "MakeDirectory x/y/z with MakeAll" '^\{\}$' \
  rr admin ImageServer.MakeDirectory '{"DirectoryName":"x/y/z","MakeAll":true}'
t_expect "the parents exist too (client library)" '^true$' ic idonly checkdir x/y
t_check "the directory is a real directory" test -d "$store/images/x/y/z"
long=$(printf 'n%.0s' $(seq 300))
for bad in 'a/../b' '/abs' '..' 'a//b' 'a/' "$long" 'a/.hidden' 'a/tmp~'; do
  t_expect_fail "name \"${bad:0:20}\" refused" 'refused|too long|invalid|empty|component|name' \
    rr admin ImageServer.MakeDirectory "{\"DirectoryName\":\"$bad\",\"MakeAll\":true}"
done
t_expect_fail "a name with NUL refused" 'NUL|refused' \
  rr admin ImageServer.MakeDirectory '{"DirectoryName":"a\u0000b","MakeAll":true}'
t_check "nothing made outside the image directory" test ! -e "$store/abs" -a ! -e "$store/b"
t_expect "ListDirectories: the original's objects, an empty Name last" \
  '^\{"Name":"a","Metadata":\{"OwnerGroup":""\}\} \{"Name":"x","Metadata":\{"OwnerGroup":""\}\} .*\{"Name":"","Metadata":\{"OwnerGroup":""\}\} $' \
  bash -c "$(declare -f raw); d=$d port=$port SS_TOP=$SS_TOP raw idonly list-dirs | tr '\n' ' '"

# --- objects ---
t_expect "AddObjects: one reply per object, sent after the last" \
  "^\{\"ErrorString\":\"\",\"Hash\":\"$h_small\",\"Added\":true\}
\{\"ErrorString\":\"\",\"Hash\":\"$h_big\",\"Added\":true\}$" \
  raw admin add-objects "$d/files/small" "$d/files/big"
t_expect "AddObjects of a present object: Added false" "\"Hash\":\"$h_small\",\"Added\":false" \
  raw admin add-objects "$d/files/small"
t_expect "AddObjects with a wrong ExpectedHash: refused, nothing kept" \
  '"ErrorString":"[^"]*(mismatch|expected)[^"]*","Hash":"0{128}","Added":false' \
  raw admin --bad-hash add-objects "$d/files/third"
t_expect "CheckObjects: sizes, 0 for absent" '^\{"ObjectSizes":\[5,1048576,0,0\]\}$' \
  rr idonly ObjectServer.CheckObjects "{\"Hashes\":[\"$h_small\",\"$h_big\",\"$h_third\",\"$absent\"]}"
t_expect_fail "CheckObjects with a bad hash: refused" 'hex hash' \
  rr idonly ObjectServer.CheckObjects '{"Hashes":["abc"]}'
t_expect "GetObjects: ResponseString, ObjectSizes, then the bytes back-to-back" \
  '^\{"ResponseString":"","ObjectSizes":\[5,1048576\]\}$' \
  raw idonly get-objects "$d/got" "$h_small" "$h_big"
t_check "GetObjects: the bytes are the objects" cmp "$d/got/$h_big" "$d/files/big"
t_expect_fail "GetObjects naming an unknown object fails the whole request" \
  "\"ResponseString\":\"unknown object: $absent\",\"ObjectSizes\":null" \
  raw idonly get-objects "$d/got" "$h_small" "$absent"
# More GetObjects at once than -maxConcurrentGetObjects=2: the others wait their turn.
pids=()
for i in 1 2 3 4 5 6; do
  mkdir -p "$d/par$i"
  raw idonly get-objects "$d/par$i" "$h_big" "$h_small" >/dev/null 2>&1 &
  pids+=($!)
done
par_ok=0
for p in "${pids[@]}"; do wait "$p" && par_ok=$((par_ok + 1)); done
t_check "6 GetObjects at once with a limit of 2: all served ($par_ok)" test "$par_ok" = 6
t_check "... and each got the right bytes" cmp "$d/par6/$h_big" "$d/files/big"
t_expect "client library: AddObjects (third)" "^$h_third$" ic admin addobjects "$d/files/third"
t_expect "client library: CheckObjects" '^3000$' ic idonly checkobjects "$h_third"
t_expect "client library: GetObjects into a local object store" '^fetched 2$' \
  ic idonly getobjects "$d/cache" "$h_third" "$h_big"
t_check "client library: fetched object verified and in place" \
  cmp "$d/cache/${h_big:0:2}/${h_big:2}" "$d/files/big"
head -c 3000 /dev/urandom >"$d/files/corrupt"
h_corrupt=$(ic admin addobjects "$d/files/corrupt")
printf 'XXXX' | dd of="$store/objects/${h_corrupt:0:2}/${h_corrupt:2}" bs=1 seek=100 conv=notrunc 2>/dev/null
t_expect_fail "client library: an object corrupted on the server's disk is refused by its hash" \
  'mismatch' ic idonly getobjects "$d/cache" "$h_corrupt"
t_check "... and nothing of it is kept in the local store" test ! -e "$d/cache/${h_corrupt:0:2}/${h_corrupt:2}"
t_expect_fail "client library: GetObjects of an unknown object" "unknown object: $absent" \
  ic idonly getobjects "$d/cache" "$absent"

# --- images ---
mkimage "$d/i1.json" name=a/1 created=2020-01-01T00:00:00Z file="$d/files/small" file="$d/files/big"
mkimage "$d/i2.json" name=a/2 created=2021-01-01T00:00:00Z expires="$(in_secs 3600)" file="$d/files/small"
mkimage "$d/i3.json" name=a/3 created=2019-01-01T00:00:00Z commit=abc123 branch=release \
  tags='{"Role":"hypervisor"}' file="$d/files/third"
mkimage "$d/i4.json" name=a/sub/4 created=2030-01-01T00:00:00Z file="$d/files/small"
mkimage "$d/unknown.json" name=a/u file="$d/files/orphan"
mkimage "$d/nodir.json" name=nodir/1 file="$d/files/small"
mkimage "$d/trav.json" name=a/../1 file="$d/files/small"
mkimage "$d/badfs.json" name=a/bad entry=.. file="$d/files/small"
t_expect_fail "identity-only certificate: AddImage refused" 'denied' rr idonly ImageServer.AddImage "@$d/i1.json"
t_expect_fail "wrong grant: AddImage refused" 'denied' rr wrong ImageServer.AddImage "@$d/i1.json"
t_expect "AddImage a/1" '^\{\}$' rr admin ImageServer.AddImage "@$d/i1.json"
t_check "the image is a JSON file in its directory" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$store/images/a/1"
t_expect_fail "AddImage a/1 again: refused" 'already exists' rr admin ImageServer.AddImage "@$d/i1.json"
t_expect_fail "AddImage naming an unknown object: refused, naming it" "unknown object: $h_orphan" \
  rr admin ImageServer.AddImage "@$d/unknown.json"
t_expect_fail "AddImage into an unknown directory: refused" 'unknown directory: nodir' \
  rr admin ImageServer.AddImage "@$d/nodir.json"
t_expect_fail "AddImage with a traversal name: refused" 'refused' rr admin ImageServer.AddImage "@$d/trav.json"
t_expect_fail "AddImage with an entry named ..: refused" '\.\.' rr admin ImageServer.AddImage "@$d/badfs.json"
t_check "refused images left no file" test ! -e "$store/images/a/u" -a ! -e "$store/images/a/bad" -a ! -e "$store/images/1"
rr admin ImageServer.AddImage "@$d/i2.json" >/dev/null
rr admin ImageServer.AddImage "@$d/i3.json" >/dev/null
rr admin ImageServer.MakeDirectory '{"DirectoryName":"a/sub","MakeAll":false}' >/dev/null
rr admin ImageServer.AddImage "@$d/i4.json" >/dev/null
rr admin ImageServer.MakeDirectory '{"DirectoryName":"empty","MakeAll":false}' >/dev/null
t_expect "CheckImage a/1" '^\{"ImageExists":true\}$' rr idonly ImageServer.CheckImage '{"ImageName":"a/1"}'
t_expect "CheckImage a/9" '^\{"ImageExists":false\}$' rr idonly ImageServer.CheckImage '{"ImageName":"a/9"}'
t_expect "GetImage: the image with its FileSystem" "\"Hash\":\"$h_big\"" \
  rr idonly ImageServer.GetImage '{"ImageName":"a/1","IgnoreFilesystem":false,"IgnoreFilesystemIfExpiring":false,"Timeout":0}'
t_expect "GetImage IgnoreFilesystem: FileSystem null" '"FileSystem":null' \
  rr idonly ImageServer.GetImage '{"ImageName":"a/1","IgnoreFilesystem":true}'
t_expect "GetImage IgnoreFilesystemIfExpiring on an expiring image: FileSystem null" '"FileSystem":null' \
  rr idonly ImageServer.GetImage '{"ImageName":"a/2","IgnoreFilesystemIfExpiring":true}'
t_expect "GetImage of an absent image: Image null" '^\{"Image":null,"InformationDatabaseURL":""\}$' \
  rr idonly ImageServer.GetImage '{"ImageName":"a/9"}'
t_expect "client library: GetImage" "\"TotalDataBytes\":1048581" ic idonly get a/1
t_expect_fail "client library: GetImage of an absent image" 'not found' ic idonly get a/9
# GetImage with a Timeout waits for the image to appear.
mkimage "$d/later.json" name=a/later created=2018-01-01T00:00:00Z file="$d/files/small"
ic idonly get a/later nofs 20000 >"$d/later.out" 2>&1 &
waiter=$!
sleep 1
rr admin ImageServer.AddImage "@$d/later.json" >/dev/null
if wait "$waiter" && grep -q '"CreatedOn":"2018-01-01T00:00:00Z"' "$d/later.out"; then
  t_ok "GetImage with a Timeout returns the image once it is added"
else
  t_fail "GetImage with a Timeout returns the image once it is added" "$(cat "$d/later.out")"
fi
t_expect "ListImages: raw name lines, an empty line last" \
  "^'a/1\\\\n' 'a/2\\\\n' 'a/3\\\\n' 'a/later\\\\n' 'a/sub/4\\\\n' '\\\\n' $" \
  bash -c "$(declare -f raw); d=$d port=$port SS_TOP=$SS_TOP raw idonly list-images | tr '\n' ' '"
t_expect "client library: ListImages" '^a/1 a/2 a/3 a/later a/sub/4 $' \
  bash -c "$(declare -f ic); d=$d port=$port SS_BIN=$SS_BIN ic idonly listimages | tr '\n' ' '"
t_expect "client library: ListDirectories" '^a a/sub empty x x/y x/y/z $' \
  bash -c "$(declare -f ic); d=$d port=$port SS_BIN=$SS_BIN ic idonly listdirs | tr '\n' ' '"

# --- FindLatestImage ---
fl() { rr idonly ImageServer.FindLatestImage "$1"; }
t_expect "FindLatestImage: newest CreatedOn directly in the directory (not a/sub/4)" \
  '^\{"ImageName":"a/2","Error":""\}$' fl '{"DirectoryName":"a"}'
t_expect "FindLatestImage IgnoreExpiringImages" '"ImageName":"a/1"' \
  fl '{"DirectoryName":"a","IgnoreExpiringImages":true}'
t_expect "FindLatestImage BuildCommitId matches the commit" '"ImageName":"a/3"' \
  fl '{"DirectoryName":"a","BuildCommitId":"abc123"}'
t_expect "FindLatestImage BuildCommitId matches the branch" '"ImageName":"a/3"' \
  fl '{"DirectoryName":"a","BuildCommitId":"release"}'
t_expect "FindLatestImage TagsToMatch" '"ImageName":"a/3"' \
  fl '{"DirectoryName":"a","TagsToMatch":{"Role":["installer","hypervisor"]}}'
t_expect "FindLatestImage TagsToMatch without a match: empty" '^\{"ImageName":"","Error":""\}$' \
  fl '{"DirectoryName":"a","TagsToMatch":{"Role":["installer"]}}'
t_expect "FindLatestImage of an empty directory: empty" '^\{"ImageName":"","Error":""\}$' \
  fl '{"DirectoryName":"empty"}'
t_expect "FindLatestImage of an unknown directory: Error" '"Error":"unknown directory: nope"' \
  fl '{"DirectoryName":"nope"}'
t_expect "client library: resolve a stream to its latest image" '^a/2$' ic idonly resolve a
t_expect_fail "client library: resolve an empty stream" 'no image in stream empty' ic idonly resolve empty
t_expect_fail "client library: FindLatestImage of an unknown directory" 'unknown directory: nope' ic idonly find nope

# --- expiration ---
t_expect "GetImageExpiration of a permanent image: zero time" '"ExpiresAt":"0001-01-01T00:00:00Z"' \
  rr idonly ImageServer.GetImageExpiration '{"ImageName":"a/1"}'
t_expect "GetImageExpiration of an absent image: Error" '"Error":"image: a/9 does not exist"' \
  rr idonly ImageServer.GetImageExpiration '{"ImageName":"a/9"}'
t_expect_fail "identity-only certificate: ChangeImageExpiration refused" 'denied' \
  rr idonly ImageServer.ChangeImageExpiration "{\"ImageName\":\"a/1\",\"ExpiresAt\":\"$(in_secs 60)\"}"
soon=$(in_secs 3)
t_expect "ChangeImageExpiration a/later to a few seconds ahead" '^\{"Error":""\}$' \
  rr admin ImageServer.ChangeImageExpiration "{\"ImageName\":\"a/later\",\"ExpiresAt\":\"$soon\"}"
t_expect "client library: GetImageExpiration" "^${soon%Z}" ic idonly expiration a/later
t_expect "client library: ChangeImageExpiration to permanent (a/2)" '' ic admin setexpiration a/2 0001-01-01T00:00:00Z
t_expect "a/2 is permanent now" '"ExpiresAt":"0001-01-01T00:00:00Z"' \
  rr idonly ImageServer.GetImageExpiration '{"ImageName":"a/2"}'
for ((i = 0; i < 80 * scale; i++)); do
  rr idonly ImageServer.CheckImage '{"ImageName":"a/later"}' | grep -q false && break
  sleep 0.1
done
t_expect "the image disappears at its expiry" '"ImageExists":false' \
  rr idonly ImageServer.CheckImage '{"ImageName":"a/later"}'
t_check "its file is gone" test ! -e "$store/images/a/later"
t_expect "the expiry is logged" 'expired image a/later removed' cat "$d/server.out"
mkimage "$d/expired.json" name=a/old expires=2020-01-01T00:00:00Z file="$d/files/small"
t_expect_fail "AddImage of an already expired image: refused" 'already expired' \
  rr admin ImageServer.AddImage "@$d/expired.json"

# --- delete ---
t_expect_fail "identity-only certificate: DeleteImage refused" 'denied' rr idonly ImageServer.DeleteImage '{"ImageName":"a/3"}'
t_expect_fail "wrong grant: DeleteImage refused" 'denied' rr wrong ImageServer.DeleteImage '{"ImageName":"a/3"}'
t_expect "client library: DeleteImage a/sub/4" '' ic admin delete a/sub/4
t_expect "a/sub/4 is gone" '^false$' ic idonly check a/sub/4
t_expect_fail "DeleteImage of an absent image: refused" 'does not exist' rr admin ImageServer.DeleteImage '{"ImageName":"a/sub/4"}'

# --- status page and metrics ---
t_expect "status page lists images with size and expiry" 'a/1</td><td>1M?[^<]*</td>' get /
t_expect "status page lists streams" '<li>x/y/z</li>' get /
t_expect "status page shows the object count" 'Objects</th><td>4<' get /
t_expect "/metrics: images" '^imageserver_images 3$' get /metrics
t_expect "/metrics: objects and their bytes" '^imageserver_object_bytes 1054581$' get /metrics
t_expect "/metrics: bytes served" '^imageserver_bytes_served_total [1-9][0-9]{6,}$' get /metrics
t_expect "/metrics: bytes received" '^imageserver_bytes_received_total [1-9][0-9]{6,}$' get /metrics
t_expect "/metrics: GetObjects in flight" '^imageserver_getobjects_in_flight 0$' get /metrics
get /metrics >"$d/metrics.txt"
t_check "/metrics is Prometheus text format" prom_check "$d/metrics.txt"

# --- streams never sit whole in memory ---
rss() { awk '/^VmRSS/ {print $2}' "/proc/$srv_pid/status"; }
head -c $((96 << 20)) /dev/urandom >"$d/files/large"
h_large=$(sha "$d/files/large")
rss0=$(rss)
ic admin addobjects "$d/files/large" >/dev/null
raw idonly get-objects "$d/got" "$h_large" >/dev/null
rss1=$(rss)
t_check "a 96 MiB object up and down: RSS grows by less than 32 MiB ($rss0 -> $rss1 KiB)" \
  test $((rss1 - rss0)) -lt 32768
t_check "the 96 MiB object came back intact" cmp "$d/got/$h_large" "$d/files/large"
rm -f "$d/files/large" "$d/got/$h_large"

# --- restart ---
before=$(bash -c "$(declare -f ic); d=$d port=$port SS_BIN=$SS_BIN ic idonly listimages")
img_before=$(rr idonly ImageServer.GetImage '{"ImageName":"a/1"}')
printf '{"FileSystem": 12' >"$store/images/a/broken"
printf 'partial' >"$store/images/a/5~"
ic idonly get a/never nofs 60000 >/dev/null 2>&1 &
waiter=$!
sleep 0.5
t0=$(date +%s)
t_check "SIGTERM stops the server while a GetImage waits for its image" stop_server
t1=$(date +%s)
t_check "... within the 5 s drain, not the GetImage's 60 s ($((t1 - t0)) s)" test $((t1 - t0)) -le 8
sleep 0.5
t_check "... and the waiting client is answered or closed" bash -c "! kill -0 $waiter 2>/dev/null"
kill "$waiter" 2>/dev/null
wait "$waiter" 2>/dev/null
if ! start_server "$store/images" "$store/objects" -gcInterval=0; then
  t_fail "restart" "$(tail -5 "$d/server.out")"
  exit 0
fi
t_expect "restart keeps every image" "^$(echo "$before" | tr '\n' ' ')\$" \
  bash -c "$(declare -f ic); d=$d port=$port SS_BIN=$SS_BIN ic idonly listimages | tr '\n' ' '"
t_check "restart: GetImage gives the same image" test "$img_before" = "$(rr idonly ImageServer.GetImage '{"ImageName":"a/1"}')"
t_expect "restart: an undecodable image file is moved to .bad/" 'broken' ls "$store/images/.bad"
t_expect "restart: the bad file is logged" 'image a/broken: .*moved to' cat "$d/server.out"
t_check "restart: a leftover temp file is removed" test ! -e "$store/images/a/5~"

# --- kill -9 during an AddObjects, at several bytes of the object ---
head -c 4194304 /dev/urandom >"$d/files/killed"
h_killed=$(sha "$d/files/killed")
seen_tmp=0
for cut in 0 1 2097152 4194303; do
  : >"$d/partial.out" # before the job starts: it opens the file in its own time
  raw admin --timeout 30 add-partial "$d/files/killed" "$cut" >>"$d/partial.out" 2>&1 &
  uploader=$!
  for ((i = 0; i < 100 * scale; i++)); do grep -q PARTIAL "$d/partial.out" && break; sleep 0.05; done
  sleep 0.3
  {
    kill -9 "$srv_pid"
    wait "$srv_pid"
  } 2>/dev/null
  kill "$uploader" 2>/dev/null
  wait "$uploader" 2>/dev/null
  t_check "kill -9 after $cut bytes of the object: no object of that hash visible" \
    test ! -e "$store/objects/${h_killed:0:2}/${h_killed:2}"
  n=$(find "$store/objects/.tmp" -type f 2>/dev/null | wc -l)
  seen_tmp=$((seen_tmp + n))
  if ! start_server "$store/images" "$store/objects" -gcInterval=0; then
    t_fail "restart after kill -9" "$(tail -5 "$d/server.out")"
    exit 0
  fi
done
t_check "the kills hit objects being written (temp files were left: $seen_tmp)" test "$seen_tmp" -gt 0
t_expect "after kill -9: the object is absent" '^\{"ObjectSizes":\[0\]\}$' \
  rr idonly ObjectServer.CheckObjects "{\"Hashes\":[\"$h_killed\"]}"
t_expect "after kill -9: no temp file left in the object store" '^0$' \
  bash -c "find '$store/objects/.tmp' -type f 2>/dev/null | wc -l"
t_expect "after kill -9: the images are intact" '"ImageExists":true' \
  rr idonly ImageServer.CheckImage '{"ImageName":"a/1"}'
t_expect "after kill -9: a full upload works" "\"Hash\":\"$h_killed\",\"Added\":true" \
  raw admin add-objects "$d/files/killed"

# --- GC ---
t_expect "an unreferenced object is uploaded" "\"Hash\":\"$h_orphan\",\"Added\":true" \
  raw admin add-objects "$d/files/orphan"
stop_server
touch -h -d '2 hours ago' "$store/objects/${h_orphan:0:2}/${h_orphan:2}" 2>/dev/null ||
  touch -d '2 hours ago' "$store/objects/${h_orphan:0:2}/${h_orphan:2}"
if ! start_server "$store/images" "$store/objects" -gcInterval=1s -gcGracePeriod=1h; then
  t_fail "restart with GC" "$(tail -5 "$d/server.out")"
  exit 0
fi
for ((i = 0; i < 50 * scale; i++)); do
  grep -q "GC: removed unreferenced object $h_orphan" "$d/server.out" && break
  sleep 0.1
done
t_expect "GC: an old unreferenced object is removed" '^\{"ObjectSizes":\[0,5,1048576,3000\]\}$' \
  rr idonly ObjectServer.CheckObjects "{\"Hashes\":[\"$h_orphan\",\"$h_small\",\"$h_big\",\"$h_third\"]}"
t_expect "GC: the removal is logged" "GC: removed unreferenced object $h_orphan" cat "$d/server.out"
t_expect "GC: a young unreferenced object survives (grace period)" "\"ObjectSizes\":\\[4194304\\]" \
  rr idonly ObjectServer.CheckObjects "{\"Hashes\":[\"$h_killed\"]}"
t_expect "/metrics: GC runs counted" '^imageserver_gc_runs_total [1-9]' get /metrics
stop_server

# --- full disk ---
if [ "$(id -u)" != 0 ] || ! mkdir -p "$d/tmpfs" || ! mount -t tmpfs -o size=2m tmpfs "$d/tmpfs" 2>/dev/null; then
  t_skip "full disk gives a clear error" "cannot mount a tmpfs (not root?)"
else
  t_cleanup umount -l "$d/tmpfs"
  if ! start_server "$d/tmpfs/images" "$d/tmpfs/objects" -gcInterval=0; then
    t_fail "imageserver on a small tmpfs starts" "$(tail -5 "$d/server.out")"
    exit 0
  fi
  rr admin ImageServer.MakeDirectory '{"DirectoryName":"a","MakeAll":false}' >/dev/null
  raw admin add-objects "$d/files/small" >/dev/null
  rr admin ImageServer.AddImage "@$d/i2.json" >/dev/null
  head -c 3000000 /dev/urandom >"$d/files/toobig"
  t_expect "full disk: AddObjects gives a clear error" '[Nn]o space left on device' \
    raw admin add-objects "$d/files/toobig"
  t_expect "full disk: nothing of it kept" '^\{"ObjectSizes":\[0\]\}$' \
    rr idonly ObjectServer.CheckObjects "{\"Hashes\":[\"$(sha "$d/files/toobig")\"]}"
  dd if=/dev/zero of="$d/tmpfs/filler" bs=64k 2>/dev/null
  mkimage "$d/full.json" name=a/full file="$d/files/small"
  t_expect_fail "full disk: AddImage gives a clear error" '[Nn]o space left on device' \
    rr admin ImageServer.AddImage "@$d/full.json"
  t_expect "full disk: the existing image is intact" '"Hash":"'"$h_small"'"' \
    rr idonly ImageServer.GetImage '{"ImageName":"a/2"}'
  t_expect "full disk: the refused image is not there" '"ImageExists":false' \
    rr idonly ImageServer.CheckImage '{"ImageName":"a/full"}'
  rm -f "$d/tmpfs/filler"
  t_expect "after space is freed: AddImage works" '^\{\}$' rr admin ImageServer.AddImage "@$d/full.json"
  stop_server
fi
if grep -qE 'ERROR: [A-Za-z]*Sanitizer|runtime error:' "$d/server.out"; then
  t_fail "no sanitizer report or crash in the server's output" "the report follows"
  grep -m1 -A40 -E 'ERROR: [A-Za-z]*Sanitizer|runtime error:' "$d/server.out" | sed 's/^/# /'
else
  t_ok "no sanitizer report or crash in the server's output"
fi
