#!/usr/bin/env python3
"""Where a firmware image's flash goes: per crate, per symbol, and the costs issue 19 counts.

    ELF --llvm-nm -S-->  sized symbols  --demangle, crate of each-->  per-crate table, top symbols
        --llvm-objdump -d-->  calls to core::panicking  -->  panic sites
        --.rodata-->  source paths of panic locations

Usage: bloat.py BIN_DIR ELF LABEL [CRATES SYMBOLS]
  BIN_DIR  the rustup llvm-tools directory (llvm-nm, llvm-objdump, llvm-objcopy)
Prints greppable lines, each starting with "bloat LABEL":
  bloat LABEL flash_symbols=N unattributed=N    sized symbols in flash sections, and the rest
                                                (string literals, panic locations, padding)
  bloat LABEL crate=NAME bytes=N share=P%       the largest crates (a generic function counts
                                                for the crate whose type it is instantiated on)
  bloat LABEL symbol=NAME bytes=N               the largest symbols
  bloat LABEL cost=NAME bytes=N [...]           core::fmt, panics, the self-tests and the proof's
                                                own code, crypto, copies of generic machines
Symbol sizes are after fat LTO: a function inlined into its caller counts for the caller.
"""
import collections
import os
import re
import subprocess
import sys

FLASH_SECTIONS = {".vector_table", ".text", ".rodata", ".init", ".trap", ".rwtext", ".flash.appdesc", ".data",
                  ".rodata.wifi", ".rwtext.wifi", ".data.wifi"}
CRYPTO = {
    "aes", "aes_gcm", "cipher", "ctr", "ghash", "polyval", "universal_hash", "chacha20",
    "poly1305", "chacha20poly1305", "sha1", "sha2", "md5", "hmac", "digest", "p256",
    "primeorder", "elliptic_curve", "ecdsa", "rfc6979", "crypto_bigint", "curve25519_dalek",
    "x25519_dalek", "der", "spki", "const_oid", "hybrid_array", "subtle", "peerless_crypto",
    "base16ct", "sec1", "crypto_common", "block_buffer", "inout",
}
# Legacy Rust mangling escapes that llvm-nm leaves in LTO-local symbol names.
ESCAPES = [
    ("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","), ("$BP$", "*"),
    ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"), ("$u3b$", ";"),
    ("$u27$", "'"), ("$u2b$", "+"), ("$u21$", "!"), ("$LP$", "("), ("$RP$", ")"), ("..", "::"),
]


def clean(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    if "$" in name:
        for a, b in ESCAPES:
            name = name.replace(a, b)
        if name.startswith("_<"):
            name = name[1:]
    return name


def crate_of(name):
    """The crate a symbol's bytes are charged to: the self type's crate for `<T as Trait>`,
    the trait's when T is a primitive or a parameter, else the path's first segment."""
    s = name
    while s.startswith("<"):
        inner = s[1:].lstrip("&*[( ")
        inner = inner[4:] if inner.startswith("mut ") else inner
        head = re.match(r"[^<> ,;\[\]()]*", inner).group(0)
        if "::" in head and not head.startswith("core::"):
            return head.split("::")[0]
        if " as " in inner:
            s = inner.split(" as ", 1)[1]
        else:
            s = inner
    head = re.split(r"[<:]", s, maxsplit=1)[0]
    if head.startswith(".L") or head.startswith("__"):
        return "(anonymous)"
    return head or "(anonymous)"


def tool(bin_dir, name, *args):
    return subprocess.run([os.path.join(bin_dir, name), *args], capture_output=True, text=True,
                          check=True).stdout


def main():
    bin_dir, elf, label = sys.argv[1:4]
    n_crates = int(sys.argv[4]) if len(sys.argv) > 4 else 15
    n_symbols = int(sys.argv[5]) if len(sys.argv) > 5 else 20

    flash = 0
    ranges = []
    for line in tool(bin_dir, "llvm-size", "-A", "-d", elf).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in FLASH_SECTIONS and parts[1].isdigit():
            size, addr = int(parts[1]), int(parts[2])
            flash += size
            ranges.append((addr, addr + size))

    def in_flash(addr):
        return any(lo <= addr < hi for lo, hi in ranges)

    symbols = []  # (size, name, crate)
    for line in tool(bin_dir, "llvm-nm", "-S", "-C", elf).splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or parts[2] not in "tTrRdD":
            continue
        addr, size = int(parts[0], 16), int(parts[1], 16)
        if size == 0 or not in_flash(addr):
            continue
        name = clean(parts[3])
        symbols.append((size, name, crate_of(name)))

    attributed = sum(s for s, _, _ in symbols)
    print(f"bloat {label} flash={flash} flash_symbols={attributed} unattributed={flash - attributed}")
    by_crate = collections.Counter()
    for size, _, crate in symbols:
        by_crate[crate] += size
    for crate, size in by_crate.most_common(n_crates):
        print(f"bloat {label} crate={crate} bytes={size} share={100 * size / flash:.1f}%")
    for size, name, _ in sorted(symbols, reverse=True)[:n_symbols]:
        print(f"bloat {label} symbol={name[:160]} bytes={size}")

    def cost(what, pred, extra=""):
        hits = [s for s, n, c in symbols if pred(n, c)]
        print(f"bloat {label} cost={what} bytes={sum(hits)} symbols={len(hits)}{extra}")

    cost("core_fmt", lambda n, c: "core::fmt" in n)
    # The proof's own code: its entry (`main` on riscv-rt) and the libraries' self-tests.
    cost("selftest_and_proof", lambda n, c: "selftest" in n or c in ("proof", "main"))
    cost("crypto", lambda n, c: c in CRYPTO)

    # Panics: each call site passes a static Location (file, line, column) and often a message.
    disasm = tool(bin_dir, "llvm-objdump", "-d", "--no-show-raw-insn", "-C", elf)
    sites = collections.Counter(
        clean(m.group(1)) for m in re.finditer(
            r"\t(?:bl|blx|b\.w|b|jal|jalr|j|call)\s+\S+\s+<([^>+]*(?:panic|_fail)[^>+]*)>", disasm)
    )
    panic_code = sum(s for s, n, c in symbols
                     if "core::panicking" in n or re.search(r"panic|_fail", n.split("::")[-1]))
    paths = 0
    try:
        raw = subprocess.run([os.path.join(bin_dir, "llvm-objcopy"), "-O", "binary", "--only-section=.rodata",
                              elf, "-"], capture_output=True, check=True).stdout
        paths = sum(len(m.group(0)) for m in re.finditer(rb"[ -~]{4,}?\.rs", raw))
    except (subprocess.CalledProcessError, OSError):
        pass
    print(f"bloat {label} cost=panic bytes={panic_code} call_sites={sum(sites.values())} "
          f"location_path_bytes={paths}")

    # Copies of generic code: how many instantiations of the machines' functions were emitted.
    for machine in ("peerless::peer::", "peerless_dtls::endpoint::", "peerless_sctp::", "peerless_ice::agent::",
                    "peerless_rtp::"):
        group = collections.defaultdict(list)
        for size, name, _ in symbols:
            if name.startswith(machine) or f"<{machine}" in name or f"impl {machine}" in name:
                group[name].append(size)
        if not group:
            continue
        extra = sum(sum(v) - max(v) for v in group.values())
        most = max(len(v) for v in group.values())
        print(f"bloat {label} cost=generic_copies machine={machine.rstrip(':')} "
              f"functions={len(group)} most_copies={most} extra_copy_bytes={extra}")


if __name__ == "__main__":
    main()
