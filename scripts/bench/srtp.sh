#!/usr/bin/env bash
# SRTP benchmark: peerless vs libsrtp (C harness) vs a bare RustCrypto loop (the floor),
# protect and unprotect, 172 B and 1200 B, AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM.
# Two libsrtp builds, each its own harness process driven by our bench binary over a pipe:
#   - libsrtp 2.5.0 from Debian's source package, configured here with --enable-openssl
#     (OpenSSL 3, what media servers ship), built once into $CARGO_TARGET_DIR/libsrtp-openssl;
#   - Debian's libsrtp2 binary package (built against NSS: a PKCS#11 context per packet).
# The harness prints the libsrtp version and the crypto library it has mapped. One run prints
# every side and the ratios; never gates. Release build without -C target-cpu=native (the
# crypto crates detect AES-NI/SHA-NI/PCLMUL at run time; OpenSSL does the same).
# SRTP_BENCH_PACKETS (default 20000) sets packets per round.
. "$(dirname "$0")/../lib.sh"

section "srtp: benchmark vs libsrtp (OpenSSL build and Debian's NSS build) and the RustCrypto floor"
need_apt libsrtp2-dev libssl-dev pkg-config gcc make dpkg-dev
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# The source of Debian's libsrtp2 (2.5.0 in Debian 12): a deb-src entry beside the image's
# deb entries (added once), then `apt-get source`. CI reaches the Debian archive but not GitHub.
libsrtp_openssl() {
    local cache="$CARGO_TARGET_DIR/libsrtp-openssl"
    local prefix="$cache/install"
    [ -f "$prefix/lib/libsrtp2.a" ] && [ -f "$cache/version" ] && return 0
    if ! apt-cache showsrc libsrtp2 >/dev/null 2>&1 || [ -z "$(apt-cache showsrc libsrtp2 2>/dev/null)" ]; then
        local list=/etc/apt/sources.list.d/peerless-deb-src.sources
        if [ ! -f "$list" ]; then
            cat >"$list" <<'EOF'
# Added by peerless's scripts/bench/srtp.sh: Debian source packages (apt-get source libsrtp2).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        fi
        apt-get -o DPkg::Lock::Timeout=600 update -qq
    fi
    rm -rf "$cache"
    mkdir -p "$cache/src"
    (cd "$cache/src" && apt-get -o DPkg::Lock::Timeout=600 source -qq libsrtp2 >/dev/null 2>&1)
    local src
    src="$(find "$cache/src" -maxdepth 1 -mindepth 1 -type d -name 'libsrtp2-*' | head -1)"
    [ -n "$src" ] || { echo "apt-get source libsrtp2 gave no source tree" >&2; return 1; }
    # libsrtp's own configure defaults (its CFLAGS), as a media server building it gets them.
    (cd "$src" && ./configure -q --enable-openssl --prefix="$prefix" >/dev/null \
        && make -s -j2 libsrtp2.a >/dev/null 2>&1 && make -s install >/dev/null 2>&1)
    basename "$src" >"$cache/version"
    sed -n "s/^CFLAGS[[:space:]]*=[[:space:]]*//p" "$src/Makefile" | head -1 >"$cache/cflags"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
harnesses=()
if libsrtp_openssl; then
    cache="$CARGO_TARGET_DIR/libsrtp-openssl"
    gcc -O2 -Wall -Wextra -o "$work/harness-openssl" "$ROOT/bench/srtp/harness.c" \
        -I"$cache/install/include" "$cache/install/lib/libsrtp2.a" -lcrypto
    echo "libsrtp+OpenSSL: $(cat "$cache/version") from Debian's source package, ./configure --enable-openssl, CFLAGS $(cat "$cache/cflags"), OpenSSL $(dpkg-query -W -f='${Version}' libssl3)"
    harnesses+=("libsrtp+OpenSSL=$work/harness-openssl")
else
    echo "libsrtp+OpenSSL: could not fetch or build libsrtp's source: that row is missing"
fi
gcc -O2 -Wall -Wextra -o "$work/harness-nss" "$ROOT/bench/srtp/harness.c" \
    $(pkg-config --cflags --libs libsrtp2)
echo "libsrtp+NSS: Debian's libsrtp2 $(dpkg-query -W -f='${Version}' libsrtp2-1) binary package, NSS $(dpkg-query -W -f='${Version}' libnss3)"
harnesses+=("libsrtp+NSS=$work/harness-nss")
cd "$ROOT"
cargo run -q --release -p peerless-srtp --example srtp_bench -- \
    "${SRTP_BENCH_PACKETS:-20000}" "${harnesses[@]}"
