# Shared helpers for peerless's scripts. Source it: `. "$(dirname "$0")/../lib.sh"` (or from
# scripts/: `. "$(dirname "$0")/lib.sh"`). Every install is idempotent and works on a fresh
# Debian machine as root; nothing here reaches any address but the package registries.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# One Python environment for every interop peer (aiortc, aioice), at the repository root.
VENV="${VENV:-$ROOT/.venv}"
export VENV

# PEERLESS_CRYPTO=aws-lc-rs: every `cargo build|run|test|check|clippy -p CRATE` these scripts
# run gets peerless-crypto's aws-lc-rs backend (servers' build: AWS-LC for AES-GCM, AES-CTR,
# HMAC, SHA-2, ECDH and ECDSA; it needs gcc) when CRATE depends on peerless-crypto directly
# (peerless, dtls, srtp, sctp, stun, base, crypto). The others (ice, rtp, sdp, cc, mdns, the
# embassy host) cannot name the feature and build as they are, with a note. Unset or
# `rustcrypto`: the default RustCrypto backend. A function rather than an edit of every script,
# so that each interop script runs either way.
PEERLESS_CRYPTO="${PEERLESS_CRYPTO:-rustcrypto}"
export PEERLESS_CRYPTO
case "$PEERLESS_CRYPTO" in
    rustcrypto) ;;
    aws-lc-rs)
        echo "crypto backend: aws-lc-rs (PEERLESS_CRYPTO)" >&2
        cargo() {
            local sub="${1:-}" pkg="" prev="" a
            case "$sub" in
                build | run | test | check | clippy) ;;
                *)
                    command cargo "$@"
                    return
                    ;;
            esac
            for a in "$@"; do
                case "$prev" in -p | --package) pkg="$a" ;; esac
                prev="$a"
            done
            case "$pkg" in
                peerless | peerless-dtls | peerless-srtp | peerless-sctp | peerless-stun | peerless-base | peerless-crypto)
                    shift
                    command cargo "$sub" --features peerless-crypto/aws-lc-rs "$@"
                    ;;
                *)
                    echo "PEERLESS_CRYPTO: ${pkg:-this build} does not name peerless-crypto; built as it is" >&2
                    command cargo "$@"
                    ;;
            esac
        }
        ;;
    *)
        echo "PEERLESS_CRYPTO=$PEERLESS_CRYPTO: expected rustcrypto or aws-lc-rs" >&2
        exit 2
        ;;
esac

section() { printf '\n=== %s ===\n' "$*"; }

# need_apt PKG...: install Debian packages that are missing.
need_apt() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ ! -f /tmp/.peerless-apt-updated ]; then
        apt-get -o DPkg::Lock::Timeout=600 update -qq && touch /tmp/.peerless-apt-updated
    fi
    apt_install "${missing[@]}" && return 0
    # Some machine images carry a package newer than Debian 12's archive (qemu-utils 10.0 from
    # backports, installed by the image), which Breaks the bookworm binaries we ask for from the
    # same source. Bring every such relative back to the archive's version and try again.
    local relatives=()
    mapfile -t relatives < <(apt_stray_relatives "${missing[@]}")
    [ ${#relatives[@]} -gt 0 ] || return 1
    echo "need_apt: downgrading ${relatives[*]} to Debian 12's versions (they Break ${missing[*]})"
    apt_install --allow-downgrades "${missing[@]}" "${relatives[@]}"
}

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

# apt_stray_relatives PKG...: "name=version" for every installed package built from the same
# source as one of PKG whose installed version no archive serves (the image put it there), with
# the archive's best version.
apt_stray_relatives() {
    local sources=() p src
    for p in "$@"; do
        src="$(apt-cache show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Source: \([^ ]*\).*/\1/p' | head -1)"
        sources+=("${src:-$p}")
    done
    local pkg ver best _ status
    dpkg-query -W -f='${Package} ${source:Package} ${Version} ${Status}\n' | while read -r pkg src ver _ _ status; do
        [ "$status" = installed ] || continue
        printf '%s\n' "${sources[@]}" | grep -qx "$src" || continue
        apt-cache madison "$pkg" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$ver" && continue
        best="$(apt-cache madison "$pkg" | awk -F'|' 'NR==1 {gsub(/ /, "", $2); print $2}')"
        [ -n "$best" ] && echo "$pkg=$best"
    done
}

# need_pip PKG...: a venv at $VENV with these PyPI packages.
need_pip() {
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    local missing=()
    for p in "$@"; do
        "$VENV/bin/python" -m pip show -q "${p%%[=<>]*}" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] || "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
}

# need_rust_target TRIPLE...: rustup targets (and llvm-tools for the footprint report).
need_rust_target() {
    local installed
    installed="$(rustup target list --installed)"
    for t in "$@"; do
        grep -qx "$t" <<<"$installed" || rustup target add "$t" >/dev/null
    done
}

# in_netns CMD...: run CMD in a fresh network namespace whose only interface is loopback, so
# nothing it starts can reach any other address.
in_netns() {
    unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
}

# free_port: a free UDP/TCP port number on 127.0.0.1 (inside the namespace, any is free).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# need_firefox: Firefox ESR (Debian) and puppeteer-core (npm) to drive it headless. Exports
# NPM_DIR, where puppeteer-core lives (outside the repository, so no lock file is needed).
need_firefox() {
    need_apt firefox-esr
    command -v npm >/dev/null || need_apt nodejs npm
    NPM_DIR="${PEERLESS_NPM_DIR:-${HOME:-/root}/.cache/peerless-npm}"
    export NPM_DIR
    mkdir -p "$NPM_DIR"
    if [ ! -d "$NPM_DIR/node_modules/puppeteer-core" ]; then
        (cd "$NPM_DIR" && npm install -q --no-audit --no-fund --prefix "$NPM_DIR" puppeteer-core >/dev/null)
    fi
}

# need_chromium: Chromium (Debian) and puppeteer-core (npm, in the same NPM_DIR as need_firefox)
# to drive it headless. Exports NPM_DIR and CHROMIUM_BIN, the browser itself (not Debian's
# /usr/bin/chromium wrapper, which adds flags of its own), for scripts/chromium.mjs.
need_chromium() {
    need_apt chromium
    command -v npm >/dev/null || need_apt nodejs npm
    NPM_DIR="${PEERLESS_NPM_DIR:-${HOME:-/root}/.cache/peerless-npm}"
    export NPM_DIR
    mkdir -p "$NPM_DIR"
    if [ ! -d "$NPM_DIR/node_modules/puppeteer-core" ]; then
        (cd "$NPM_DIR" && npm install -q --no-audit --no-fund --prefix "$NPM_DIR" puppeteer-core >/dev/null)
    fi
    CHROMIUM_BIN=/usr/lib/chromium/chromium
    [ -x "$CHROMIUM_BIN" ] || { echo "need_chromium: no $CHROMIUM_BIN" >&2; return 1; }
    export CHROMIUM_BIN
}
