#!/usr/bin/env bash
# Side-by-side: instamed-soap, a raw hyper + rustls client, gSOAP (C) and zeep (Python) voiding
# payments against the project's simulator on loopback. See bench/peers/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/peers/run.sh [options]
  --voids N         voids per client run (default 2000)
  --reps K          runs of each client; the table shows the median (default 3)
  --http            measure plain HTTP as well as HTTPS
  --http-only       measure plain HTTP only
  --protocols LIST  soap11,soap12 (default both)
  --clients LIST    instamed-soap,gsoap,zeep (default all; instamed-soap brings raw-hyper)
  --dir DIR         scratch directory (default target/peers in the repository)
  --no-install      install nothing; fail if something is missing
  -h, --help        this text
Installs (once): Debian packages gsoap libgsoap-dev libssl-dev (and gcc if missing) with apt-get,
and a venv with zeep from requirements.txt with pip, under DIR.
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
voids=2000 reps=3 schemes=https protocols=soap11,soap12 clients=instamed-soap,gsoap,zeep
work="$repo/target/peers" install=1
while [ $# -gt 0 ]; do
  case $1 in
    --voids) voids=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --http) schemes=https,http; shift ;;
    --http-only) schemes=http; shift ;;
    --protocols) protocols=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --dir) work=$2; shift 2 ;;
    --no-install) install=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
work=$(cd "$work" && pwd)
wants() { case ",$clients," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
say() { echo "== $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "run.sh: need root for: $*" >&2; exit 1; fi
}

apt_updated=0
apt_install() {
  [ "$install" -eq 1 ] || { echo "run.sh: missing Debian packages: $* (--no-install given)" >&2; exit 1; }
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. gSOAP: the generators, the runtime with OpenSSL, and a C compiler.
install_gsoap() {
  local missing=()
  command -v wsdl2h >/dev/null && command -v soapcpp2 >/dev/null || missing+=(gsoap)
  { [ -e /usr/include/stdsoap2.h ] && ls /usr/lib/*/libgsoapssl.so >/dev/null 2>&1; } || missing+=(libgsoap-dev)
  [ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
  command -v cc >/dev/null || missing+=(gcc libc6-dev)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# 2. zeep in a venv of its own, pinned by requirements.txt.
install_zeep() {
  local venv="$work/venv" stamp
  stamp=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$stamp" ]; then return; fi
  [ "$install" -eq 1 ] || { echo "run.sh: no zeep venv in $venv (--no-install given)" >&2; exit 1; }
  if [ ! -x "$venv/bin/python" ]; then
    say "python3 -m venv $venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      rm -rf "$venv"
      apt_install python3-venv   # Debian's own python3 keeps venv in a package of its own
      python3 -m venv "$venv"
    fi
  fi
  say "pip install -r bench/peers/requirements.txt"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
  echo "$stamp" >"$venv/.installed"
}

wants gsoap && install_gsoap
wants zeep && install_zeep

# 3. The gSOAP client, generated from the project's WSDL; rebuilt when an input changed.
gsoap_client="$work/gsoap/void_client"
if wants gsoap; then
  if [ ! -x "$gsoap_client" ] || [ "$repo/wsdl/payment-service.wsdl" -nt "$gsoap_client" ] \
     || [ "$here/gsoap/void_client.c" -nt "$gsoap_client" ] || [ "$here/gsoap/build.sh" -nt "$gsoap_client" ]; then
    say "building the gSOAP client (wsdl2h + soapcpp2 + cc)"
    rm -rf "$work/gsoap"
    bash "$here/gsoap/build.sh" "$repo/wsdl/payment-service.wsdl" "$work/gsoap" >&2
  fi
fi

# 4. The simulator and our client: one release binary.
say "cargo build --release --bin instamed-soap"
(cd "$repo" && cargo build --release --bin instamed-soap)
binary="${CARGO_TARGET_DIR:-$repo/target}/release/instamed-soap"
case $binary in /*) ;; *) binary="$repo/$binary" ;; esac
skip_ours=()
if wants instamed-soap && ! "$binary" bench --help >/dev/null 2>&1; then
  echo "run.sh: this build has no \`instamed-soap bench\` command yet; instamed-soap and raw-hyper are left out" >&2
  skip_ours=(--skip-ours)
fi

# 5. Run and compare.
exec python3 "$here/compare.py" --binary "$binary" --repo "$repo" --wsdl "$repo/wsdl/payment-service.wsdl" \
  --python "$work/venv/bin/python" --gsoap-client "$gsoap_client" --work "$work" \
  --voids "$voids" --reps "$reps" --protocols "$protocols" --schemes "$schemes" --clients "$clients" \
  "${skip_ours[@]}"
