#!/usr/bin/env bash
# Footprint of the firmware: flash, static RAM and peak stack, one greppable line per target.
#   flash_bytes      = .vector_table + .text + .rodata + .data (its initial values live in flash)
#   static_ram_bytes = .data + .bss + .uninit
#   stack_peak_bytes = painted-stack high-water mark measured in QEMU by scripts/firmware.sh
# Then where the flash goes (scripts/bloat.py): the largest crates and symbols, and what core::fmt,
# panics, the self-tests, crypto and copies of generic code cost, as "bloat TARGET ..." lines.
# Run scripts/firmware.sh first (it builds the images and measures the stack).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
BIN="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
SIZE="$BIN/llvm-size"
for target in thumbv7em-none-eabihf riscv32imc-unknown-none-elf; do
    elf="$ROOT/target/$target/firmware/proof"
    [ -f "$elf" ] || { echo "footprint target=$target missing: run scripts/firmware.sh"; exit 1; }
    "$SIZE" -A "$elf" | awk -v target="$target" -v stackfile="$ROOT/target/firmware-stack.txt" '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" || $1 == ".init" || $1 == ".trap" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        $1 == ".text" { text = $2 } $1 == ".rodata" { rodata = $2 } $1 == ".data" { data = $2 } $1 == ".bss" { bss = $2 }
        END {
            stack = "unmeasured"
            while ((getline line < stackfile) > 0) {
                split(line, f, " "); if (f[1] == target) { sub("stack_peak_bytes=", "", f[2]); stack = f[2] }
            }
            printf "footprint target=%s flash_bytes=%d static_ram_bytes=%d stack_peak_bytes=%s text=%d rodata=%d data=%d bss=%d\n",
                target, flash, ram, stack, text, rodata, data, bss
        }'
done
for target in thumbv7em-none-eabihf riscv32imc-unknown-none-elf; do
    python3 "$ROOT/scripts/bloat.py" "$BIN" "$ROOT/target/$target/firmware/proof" "$target" 12 20
done
