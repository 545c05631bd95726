# shellcheck shell=bash
# Certificate helpers for SRPC tests and benchmarks (sourced, bash). Certificates are
# made at run time with the openssl command, because validity depends on the clock.
#
#   srpc_ca DIR NAME                      self-signed CA: DIR/NAME.pem + DIR/NAME.key
#   srpc_cert DIR NAME CA CN [opt=value]  DIR/NAME.cert + DIR/NAME.key signed by DIR/CA
#       grants=a,b   method grants (OID 1.3.6.1.4.1.9586.100.7.1)
#       groups=a,b   groups (OID 1.3.6.1.4.1.9586.100.7.2)
#       type=UTF8    ASN.1 string type of the entries (UTF8 PRINTABLE IA5 T61 BMP ...)
#       san=...      subjectAltName, e.g. DNS:localhost,IP:127.0.0.1
#       start=YYYYMMDDHHMMSSZ end=YYYYMMDDHHMMSSZ   explicit validity (else 2 days)
#   srpc_free_port                        a free TCP port on 127.0.0.1
#   srpc_imageserver DIR SRVDIR CERT VAR  an imageserver on a free port (trust roots
#       DIR/CA.pem + DIR/IdentityCA.pem, certificate DIR/CERT.cert + .key, store and
#       log in SRVDIR), killed at exit (t_cleanup); the port goes into VAR, the process
#       id into SRPC_IMAGESERVER_PID. Not to be
#       run in a command substitution: the cleanup must be registered in the caller.

srpc_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1/$2.key" -out "$1/$2.pem" -subj "/CN=$2" -days 30 \
    -addext basicConstraints=critical,CA:true \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

_srpc_seq() { # SECTION TYPE LIST -> an ASN1 SEQUENCE config section
  local i=0 v
  echo "[$1]"
  IFS=, read -ra _vals <<<"$3"
  for v in "${_vals[@]}"; do echo "m$i=$2:$v"; i=$((i + 1)); done
}

srpc_cert() {
  local dir=$1 name=$2 ca=$3 cn=$4 grants="" groups="" type=UTF8 san="" start="" end="" o
  shift 4
  for o in "$@"; do
    case $o in
      grants=*) grants=${o#grants=} ;;
      groups=*) groups=${o#groups=} ;;
      type=*) type=${o#type=} ;;
      san=*) san=${o#san=} ;;
      start=*) start=${o#start=} ;;
      end=*) end=${o#end=} ;;
      *) echo "srpc_cert: unknown option $o" >&2; return 2 ;;
    esac
  done
  {
    echo "[ext]"
    echo "basicConstraints=CA:false"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=clientAuth,serverAuth"
    [ -n "$san" ] && echo "subjectAltName=$san"
    [ -n "$grants" ] && echo "1.3.6.1.4.1.9586.100.7.1=ASN1:SEQUENCE:grants"
    [ -n "$groups" ] && echo "1.3.6.1.4.1.9586.100.7.2=ASN1:SEQUENCE:groups"
    [ -n "$grants" ] && _srpc_seq grants "$type" "$grants"
    [ -n "$groups" ] && _srpc_seq groups "$type" "$groups"
  } >"$dir/$name.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$cn" 2>/dev/null || return 1
  if [ -z "$start$end" ]; then
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
      -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$dir/$name.ext" \
      -extensions ext -out "$dir/$name.cert" 2>/dev/null
    return
  fi
  # Explicit dates need `openssl ca` and its small database.
  local db=$dir/$name.db
  mkdir -p "$db" && : >"$db/index.txt"
  cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $db/index.txt
new_certs_dir = $db
serial = $db/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
EOF
  openssl rand -hex 8 >"$db/serial"
  openssl ca -batch -config "$db/ca.cnf" -cert "$dir/$ca.pem" -keyfile "$dir/$ca.key" \
    -in "$dir/$name.csr" -out "$dir/$name.cert" -notext \
    -startdate "${start:-20200101000000Z}" -enddate "${end:-20300101000000Z}" \
    -extfile "$dir/$name.ext" -extensions ext 2>/dev/null
}

srpc_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

srpc_imageserver() {
  local dir=$1 srv=$2 cert=$3 p pid
  p=$(srpc_free_port)
  mkdir -p "$srv"
  "$SS_BIN/imageserver" -portNum="$p" -imageDir="$srv/images" -objectDir="$srv/objects" \
    -CAfile="$dir/CA.pem" -identityCAfile="$dir/IdentityCA.pem" -certFile="$dir/$cert.cert" \
    -keyFile="$dir/$cert.key" -logDir="$srv/log" >"$srv/stderr" 2>&1 &
  pid=$!
  # shellcheck disable=SC2034 # read by the callers
  SRPC_IMAGESERVER_PID=$pid
  t_cleanup kill "$pid"
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$p/" && break
    sleep 0.1
  done
  if ! curl -sf -o /dev/null "http://127.0.0.1:$p/"; then
    echo "imageserver did not start: $(tail -3 "$srv/stderr")" >&2
    return 1
  fi
  printf -v "$4" '%s' "$p"
}
