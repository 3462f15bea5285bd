#!/usr/bin/env bash
# Builds the firmware and runs it in QEMU: `scripts/qemu.sh` (Cortex-M4, netduinoplus2) or
# `scripts/qemu.sh riscv` (rv32imc on the RISC-V virt machine). Exits with the firmware's status.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
case "${1:-arm}" in
arm)
    need_rust_target thumbv7em-none-eabihf
    need_apt qemu-system-arm
    cargo build -q -p peerless-examples-embedded --bin proof --target thumbv7em-none-eabihf --profile firmware
    exec timeout 120 qemu-system-arm -cpu cortex-m4 -machine netduinoplus2 -nographic -monitor none \
        -semihosting-config enable=on,target=native -icount shift=0 \
        -kernel target/thumbv7em-none-eabihf/firmware/proof ;;
riscv)
    need_rust_target riscv32imc-unknown-none-elf
    need_apt qemu-system-misc
    cargo build -q -p peerless-examples-embedded --bin proof --target riscv32imc-unknown-none-elf --profile firmware
    exec timeout 120 qemu-system-riscv32 -machine virt -nographic -monitor none -bios none \
        -semihosting-config enable=on,target=native -icount shift=0 \
        -kernel target/riscv32imc-unknown-none-elf/firmware/proof ;;
*) echo "usage: scripts/qemu.sh [arm|riscv]"; exit 2 ;;
esac
