#!/usr/bin/env bash
# Builds the firmware and runs it in QEMU: `scripts/qemu.sh` (Cortex-M4, netduinoplus2) or
# `scripts/qemu.sh riscv` (rv32imc on the RISC-V virt machine); a second argument picks the
# image's features (`scripts/qemu.sh arm selftests`, `... riscv media`, `... arm prove-overflow`),
# built in target/variants so the reference image is not overwritten. Exits with the firmware's
# status.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
FEATURES="${2:-}"
DIR="$ROOT/target${FEATURES:+/variants}"
build() { # TARGET
    cargo build -q -p peerless-examples-embedded --bin proof --target "$1" --profile firmware \
        ${FEATURES:+--features "$FEATURES"} --target-dir "$DIR"
}
case "${1:-arm}" in
arm)
    need_rust_target thumbv7em-none-eabihf
    need_apt qemu-system-arm
    build thumbv7em-none-eabihf
    exec timeout 120 qemu-system-arm -cpu cortex-m4 -machine netduinoplus2 -nographic -monitor none \
        -semihosting-config enable=on,target=native -icount shift=0 \
        -kernel "$DIR/thumbv7em-none-eabihf/firmware/proof" ;;
riscv)
    need_rust_target riscv32imc-unknown-none-elf
    need_apt qemu-system-misc
    build riscv32imc-unknown-none-elf
    exec timeout 120 qemu-system-riscv32 -machine virt -nographic -monitor none -bios none \
        -semihosting-config enable=on,target=native -icount shift=0 \
        -kernel "$DIR/riscv32imc-unknown-none-elf/firmware/proof" ;;
*) echo "usage: scripts/qemu.sh [arm|riscv] [FEATURES]"; exit 2 ;;
esac
