#!/usr/bin/env bash
# Board builds of the embassy application (examples-embedded/embassy), in release as they
# ship, with their footprint: one greppable line per board, measured with llvm-size the way
# scripts/footprint.sh measures the proof firmware.
#   flash_bytes       what is written to flash: code, read-only data, initial values of .data
#                     (ESP32-C3: also the IRAM code and trap vectors, copied from flash at boot)
#   static_ram_bytes  RAM taken before the first stack frame: .data + .bss (+ IRAM code on C3)
#   app_ram_bytes     the part of it that is the application: the Peer task (its future holds
#                     the Peer), the Peer's and the HTTP task's buffers, the signaling buffer
#   stack_bytes       what is left for the stack (the chip's RAM minus the above)
#   stack_need_bytes  the deepest chain of direct calls in the image (scripts/stack-frames.py:
#                     frames from the disassembly, summed along the call graph), from the reset
#                     entry and from the peer task's poll; static_plus_stack_bytes adds the
#                     static RAM: what the application needs of the chip's RAM
#   heap_bytes        the heap regions (only the ESP32-C3 Wi-Fi board has one, for the Wi-Fi
#                     driver: its part in the bootloader's reclaimed RAM is not in static RAM)
# Then scripts/bloat.py's per-crate and per-symbol lines ("bloat BOARD ..."), as for the proof.
# Also runs the application's unit tests and checks its formatting (cheap, and nothing else
# in CI builds this separate workspace). BOARDS_LINT=1 adds clippy -D warnings for every
# crate and target (about two more minutes cold). BOARDS="nucleo-f429zi ..." builds and measures
# only the boards named (all of them by default).
. "$(dirname "$0")/lib.sh"
cd "$ROOT/examples-embedded/embassy"
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools >/dev/null
need_rust_target thumbv7em-none-eabihf riscv32imc-unknown-none-elf
export CARGO_TARGET_DIR="${EMBASSY_TARGET_DIR:-$ROOT/target/embassy}"
BIN="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
start=$SECONDS

section "embassy application: format and unit tests"
cargo fmt --all -- --check
cargo test -q --profile host -p peerless-embassy-app

# The Wi-Fi board links `alloc` (esp-radio needs a heap): show that the application and every
# crate under it still cannot allocate. In that build, nothing under peerless-embassy-app has a
# `std` or `alloc` feature on, and this repository's crates are `#![no_std]` with no `extern
# crate alloc` (without it a no_std crate cannot name `alloc`). The W5500 and STM32 builds
# below have no global allocator at all: rustc refuses to link them if any crate uses `alloc`.
section "embassy application: no allocation under the app (Wi-Fi board's dependency graph)"
cargo tree -q -p peerless-embassy-esp32c3-wifi --target riscv32imc-unknown-none-elf -e normal \
    --prefix depth -f '{p} [{f}]' | ROOT="$ROOT" python3 -c '
import os, re, sys
root, inside, depth, seen, bad = os.environ["ROOT"], False, 0, {}, []
for line in sys.stdin.read().splitlines():
    d, rest = re.match(r"(\d+)(.*)", line).groups()
    if inside and int(d) <= depth:
        inside = False
    if rest.startswith("peerless-embassy-app "):
        inside, depth = True, int(d)
    elif not inside:
        continue
    seen[rest.split(" ")[0]] = rest
for name, rest in sorted(seen.items()):
    feats = re.search(r"\[([^\]]*)\]", rest).group(1).split(",")
    if {"std", "alloc"} & set(feats):
        bad.append(f"{name}: features {feats}")
    path = re.search(r"\((/[^)]*)\)", rest)
    if path and path.group(1).startswith(root):
        src = os.path.join(path.group(1), "src")
        top = next(os.path.join(src, f) for f in ("lib.rs", "main.rs") if os.path.exists(os.path.join(src, f)))
        if not re.search(r"^#!\[no_std\]", open(top).read(), re.M):
            bad.append(f"{name}: {top} is not #![no_std]")
        for dirpath, _, files in os.walk(src):
            for f in files:
                if f.endswith(".rs") and re.search(r"extern\s+crate\s+alloc\b", open(os.path.join(dirpath, f)).read()):
                    bad.append(f"{name}: extern crate alloc in {os.path.join(dirpath, f)}")
local = sum(1 for r in seen.values() if root in r)
print(f"no-alloc: {len(seen)} crates under peerless-embassy-app ({local} of this repository): "
      + ("FAIL" if bad else "none has std/alloc, all of ours are no_std without alloc"))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)'

if [ "${BOARDS_LINT:-0}" = 1 ]; then
    section "embassy application: clippy"
    cargo clippy -q -p peerless-embassy-app -p peerless-embassy-host --all-targets -- -D warnings
    cargo clippy -q --release -p peerless-embassy-stm32 --target thumbv7em-none-eabihf -- -D warnings
    cargo clippy -q --release -p peerless-embassy-stm32 --target thumbv7em-none-eabihf --features defmt -- -D warnings
    cargo clippy -q --release -p peerless-embassy-stm32 --target thumbv7em-none-eabihf --features media -- -D warnings
    cargo clippy -q --release -p peerless-embassy-esp32c3 --target riscv32imc-unknown-none-elf -- -D warnings
    cargo clippy -q --release -p peerless-embassy-esp32c3 --target riscv32imc-unknown-none-elf --features defmt -- -D warnings
    cargo clippy -q --release -p peerless-embassy-esp32c3-wifi --target riscv32imc-unknown-none-elf -- -D warnings
    cargo clippy -q --release -p peerless-embassy-esp32c3-wifi --target riscv32imc-unknown-none-elf --features defmt -- -D warnings
fi

# board package target binary ram_bytes(the chip's data RAM) limit_bytes [features]
# limit_bytes: the step fails when the board's static_plus_stack_bytes exceeds it (0: only
# reported). The NUCLEO-F429ZI's limit is the chip's RAM (196 608 B) until the data-channel
# build reaches issue 19's goal of 96 KiB (98 304 B), which then becomes its limit.
# nucleo-f429zi-media: the same board with the `media` feature (the stored VP8 clip and the
# G.711 tone, two transceivers, their send areas), so the data-channel lines stay comparable;
# its limit is the chip's RAM (the Peer lives in static RAM since 2026-12-07, so its first
# Peer::new, 56 KB plus the media part's 20 KB, is the stack's deepest step and the build
# fits: 195 420 B).
boards=(
    "nucleo-f429zi peerless-embassy-stm32 thumbv7em-none-eabihf peerless-stm32 196608 196608"
    "esp32c3-w5500 peerless-embassy-esp32c3 riscv32imc-unknown-none-elf peerless-esp32c3 0 0"
    "esp32c3-wifi peerless-embassy-esp32c3-wifi riscv32imc-unknown-none-elf peerless-esp32c3-wifi 0 0"
    "nucleo-f429zi-media peerless-embassy-stm32 thumbv7em-none-eabihf peerless-stm32 196608 196608 media"
)
for b in "${boards[@]}"; do
    read -r board package target binary ram limit features <<<"$b"
    if [ -n "${BOARDS:-}" ] && [[ " $BOARDS " != *" $board "* ]]; then
        continue
    fi
    section "board $board: release build ($target${features:+, features $features})"
    cargo build -q --release -p "$package" --target "$target" ${features:+--features "$features"}
    elf="$CARGO_TARGET_DIR/$target/release/$binary"
    [ -f "$elf" ] || { echo "board=$board missing: $elf" >&2; exit 1; }
    app=$("$BIN/llvm-nm" -S -C "$elf" | python3 -c '
import re, sys
print(sum(int(l.split()[1], 16) for l in sys.stdin
          if re.search(r"peerless_embassy_app::(peer|http)_task::POOL|::(PEER_RESOURCES|HTTP_RESOURCES|SIGNALING)::", l)))')
    heap=$("$BIN/llvm-nm" -S -C "$elf" | python3 -c '
import re, sys
print(sum(int(l.split()[1], 16) for l in sys.stdin if re.search(r"::WIFI_HEAP_[A-Z]+::", l)))')
    "$BIN/llvm-size" -A "$elf" | awk -v board="$board" -v target="$target" -v ram="$ram" -v app="$app" -v heap="$heap" '
        # Cortex-M (cortex-m-rt): flash = vectors + code + rodata + .data image.
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        # ESP32-C3 (esp-hal linkall.x): the app descriptor and the IRAM code/trap vectors are
        # flash images too, and the IRAM code also occupies RAM. *_dummy sections only
        # reserve address space. esp-radio adds .rwtext.wifi, .data.wifi and .rodata.wifi.
        $1 == ".flash.appdesc" || $1 == ".rodata.wifi" { flash += $2 }
        $1 == ".trap" || $1 == ".rwtext" || $1 == ".rwtext.wifi" { flash += $2; sram += $2 }
        $1 == ".data" || $1 == ".data.wifi" { flash += $2; sram += $2 }
        $1 == ".bss" || $1 == ".uninit" || $1 == ".noinit" { sram += $2 }
        $1 == ".stack" { stack = $2 }
        END {
            if (stack == "") stack = ram - sram
            printf "board=%s target=%s flash_bytes=%d static_ram_bytes=%d app_ram_bytes=%d stack_bytes=%d heap_bytes=%d\n",
                board, target, flash, sram, app, stack, heap
        }' | tee "$CARGO_TARGET_DIR/board-$board.txt"
    # The stack the application needs, from the image: the deepest chain of direct calls from
    # the reset entry (boot, spawns) and from the tasks' polls (the executor reaches them
    # through function pointers, so they are roots of their own; the peer task's chains
    # include making a Peer and answering an offer), with the 10 largest frames.
    # static_plus_stack_bytes = static RAM + the deeper of the two, what the board must have.
    "$BIN/llvm-objdump" -d --no-show-raw-insn -C "$elf" >"$CARGO_TARGET_DIR/board-$board.dis"
    python3 "$ROOT/scripts/stack-frames.py" 10 "main" "TaskStorage<F>::poll" <"$CARGO_TARGET_DIR/board-$board.dis" |
        tee "$CARGO_TARGET_DIR/board-$board-stack.txt" | sed "s/^/board=$board /"
    python3 - "$CARGO_TARGET_DIR/board-$board.txt" "$CARGO_TARGET_DIR/board-$board-stack.txt" "$board" "$limit" <<'PY'
import re, sys
board = open(sys.argv[1]).read()
paths = [int(m) for m in re.findall(r"^stack_path root=\S+ bytes=(\d+)", open(sys.argv[2]).read(), re.M)]
static = int(re.search(r"static_ram_bytes=(\d+)", board).group(1))
need = max(paths, default=0)
limit = int(sys.argv[4])
verdict = "" if limit == 0 else f" limit_bytes={limit} " + ("ok" if static + need <= limit else "OVER")
print(f"board={sys.argv[3]} stack_need_bytes={need} static_plus_stack_bytes={static + need}{verdict}")
sys.exit(1 if limit and static + need > limit else 0)
PY
    # Where the flash goes: the largest crates and symbols, core::fmt, panics, crypto.
    python3 "$ROOT/scripts/bloat.py" "$BIN" "$elf" "$board" 12 20
done
echo "boards: ok ($((SECONDS - start)) s)"
