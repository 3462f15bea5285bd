#!/usr/bin/env bash
# Footprint of the firmware: flash, static RAM and peak stack, one greppable line per target.
#   flash_bytes      = .vector_table + .text + .rodata + .data (its initial values live in flash)
#   static_ram_bytes = .data + .bss + .uninit
#   stack_peak_bytes = painted-stack high-water mark measured in QEMU by scripts/firmware.sh
#   (the reference image: two SmallPeers connect and echo, what a product links; issue 19's
#   flash row. A `footprint-selftests` line gives the same for the self-test image, feature
#   `selftests`, which scripts/firmware.sh builds in target/selftests.)
#   peer_new_stack_bytes, peer_handshake_stack_bytes = the same, below the proof's
#                      `peer_connect` frame: making the two Peers (into their statics), then
#                      the whole connect (offer/answer, ICE, DTLS, SCTP, DCEP, echo): what the
#                      Peer's task needs beyond its own frame
# Then per target the 20 largest stack frames (scripts/stack-frames.py, read from the image's
# disassembly: what one function takes itself) and the deepest chain of direct calls from
# the entry point and from the Peer's connect.
# Then where the flash goes (scripts/bloat.py): the largest crates and symbols, and what core::fmt,
# panics, the self-tests, crypto and copies of generic code cost, as "bloat TARGET ..." lines.
# Run scripts/firmware.sh first (it builds the images and measures the stack).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
BIN="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
SIZE="$BIN/llvm-size"
sizes() { # ELF LABEL TARGET STACKFILE-PREFIX: one footprint line from llvm-size and the stack file
    "$SIZE" -A "$1" | awk -v label="$2" -v target="$3" -v prefix="$4" -v stackfile="$ROOT/target/firmware-stack.txt" '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" || $1 == ".init" || $1 == ".trap" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        $1 == ".text" { text = $2 } $1 == ".rodata" { rodata = $2 } $1 == ".data" { data = $2 } $1 == ".bss" { bss = $2 }
        END {
            stack = "unmeasured"; peer_new = "unmeasured"; peer_hs = "unmeasured"
            while ((getline line < stackfile) > 0) {
                split(line, f, " "); if (f[1] != target) continue
                split(f[2], kv, "=")
                if (kv[1] == prefix "stack_peak_bytes") stack = kv[2]
                if (kv[1] == prefix "peer_new_stack_bytes") peer_new = kv[2]
                if (kv[1] == prefix "peer_handshake_stack_bytes") peer_hs = kv[2]
            }
            if (prefix == "")
                printf "%s target=%s flash_bytes=%d static_ram_bytes=%d stack_peak_bytes=%s peer_new_stack_bytes=%s peer_handshake_stack_bytes=%s text=%d rodata=%d data=%d bss=%d\n",
                    label, target, flash, ram, stack, peer_new, peer_hs, text, rodata, data, bss
            else
                printf "%s target=%s flash_bytes=%d static_ram_bytes=%d stack_peak_bytes=%s text=%d rodata=%d data=%d bss=%d\n",
                    label, target, flash, ram, stack, text, rodata, data, bss
        }'
}
for target in thumbv7em-none-eabihf riscv32imc-unknown-none-elf; do
    elf="$ROOT/target/$target/firmware/proof"
    [ -f "$elf" ] || { echo "footprint target=$target missing: run scripts/firmware.sh"; exit 1; }
    sizes "$elf" footprint "$target" ""
    # The self-test image: not what a product links, printed for comparison.
    selftests="$ROOT/target/selftests/$target/firmware/proof"
    if [ -f "$selftests" ]; then
        sizes "$selftests" footprint-selftests "$target" selftests_
    else
        echo "footprint-selftests target=$target missing: run scripts/firmware.sh"
    fi
    "$BIN/llvm-objdump" -d --no-show-raw-insn -C "$elf" |
        python3 "$ROOT/scripts/stack-frames.py" 20 main app::peer_connect | sed "s/^/$target /"
done
for target in thumbv7em-none-eabihf riscv32imc-unknown-none-elf; do
    python3 "$ROOT/scripts/bloat.py" "$BIN" "$ROOT/target/$target/firmware/proof" "$target" 12 20
done
