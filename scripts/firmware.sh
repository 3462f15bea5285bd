#!/usr/bin/env bash
# The no-std/no-alloc proof: build the firmware for both MCU targets, run it in QEMU, show that
# the proof can fail (an allocating or std-using dependency breaks the build; a panic, a fault or
# a stack overflow makes the run exit non-zero), and print the footprint report.
#   reference image: two SmallPeers connect and echo a data-channel message (what a product
#                    links; issue 19's flash row is its footprint line)
#   selftests image: the crates' self-tests and their instruction counts (feature `selftests`)
#   media image:     two Peers exchange G.711 over SRTP (feature `media`)
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

ARM=thumbv7em-none-eabihf
RV=riscv32imc-unknown-none-elf
need_rust_target "$ARM" "$RV"
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools >/dev/null
need_apt qemu-system-arm qemu-system-misc

build() { # TARGET [FEATURES [DIR]]: builds the firmware, prints the ELF path
    # The variants build in their own directory so the real image that the footprint report
    # measures is never overwritten; the self-test image in one of its own, which it measures too.
    local dir="$ROOT/target${2:+/${3:-variants}}"
    # A failed build must fail the step, never run the ELF an earlier build left behind.
    rm -f "$dir/$1/firmware/proof"
    cargo build -q -p peerless-examples-embedded --bin proof --target "$1" --profile firmware \
        ${2:+--features "$2"} --target-dir "$dir" 1>&2 || return 1
    echo "$dir/$1/firmware/proof"
}

run_qemu() { # TARGET ELF: runs it, output to stdout, QEMU's exit status
    case "$1" in
    "$ARM") timeout 120 qemu-system-arm -cpu cortex-m4 -machine netduinoplus2 -nographic \
        -monitor none -semihosting-config enable=on,target=native -icount shift=0 -kernel "$2" ;;
    "$RV") timeout 120 qemu-system-riscv32 -machine virt -nographic -monitor none -bios none \
        -semihosting-config enable=on,target=native -icount shift=0 -kernel "$2" ;;
    esac
}

fail=0
check() { if "$@"; then echo "ok: ${DESC}"; else echo "FAILED: ${DESC}"; fail=1; fi; }

for target in "$ARM" "$RV"; do
    section "firmware $target"
    status=0; out="the firmware did not build"
    if elf=$(build "$target"); then out=$(run_qemu "$target" "$elf") || status=$?; else status=1; fi
    echo "$out"
    DESC="$target runs in QEMU and exits 0 with result=pass"
    check test "$status" -eq 0 -a -n "$(grep -x 'result=pass' <<<"$out")"
    { echo "$out" | grep -E '^(stack_peak|peer_new_stack|peer_handshake_stack)_bytes=' || true; } | sed "s/^/$target /" \
        >>"$ROOT/target/firmware-stack.txt.new"

    section "firmware self-tests $target (feature selftests: DRBG, wire, DTLS, SRTP, RTP)"
    status=0; out="the self-test firmware did not build"
    if elf=$(build "$target" selftests selftests); then out=$(run_qemu "$target" "$elf") || status=$?; else status=1; fi
    echo "$out"
    DESC="$target self-test image runs in QEMU and exits 0 with result=pass"
    check test "$status" -eq 0 -a -n "$(grep -x 'result=pass' <<<"$out")"
    { echo "$out" | grep -E '^stack_peak_bytes=' || true; } | sed "s/^/$target selftests_/" \
        >>"$ROOT/target/firmware-stack.txt.new"

    section "media proof $target (two Peers exchange G.711 frames over SRTP)"
    # A variant image (feature `media`): the reference image above keeps its footprint. On
    # the Cortex-M4 it links for QEMU's 192 KiB SRAM model (memory-stm32f405-media.x).
    status=0; out="the media firmware did not build"
    if elf=$(build "$target" media); then out=$(run_qemu "$target" "$elf") || status=$?; else status=1; fi
    grep -E '^(media_|stack_peak_bytes=|result=)' <<<"$out" | sed "s/^/$target media: /" || true
    DESC="$target media proof: every frame received equal to the one sent (media_exchange=pass)"
    check test "$status" -eq 0 -a -n "$(grep -x 'result=pass' <<<"$out")" \
        -a -n "$(grep -x 'media_exchange=pass' <<<"$out")"

    section "the proof can fail ($target)"
    for leak in leak-alloc leak-std; do
        expect='no global memory allocator found'
        [ "$leak" = leak-std ] && expect="can't find crate for \`std\`"
        log=$(build "$target" "$leak" 2>&1 || true)
        DESC="$target with an allocating dependency ($leak) does not build: \"$expect\""
        check grep -qF "$expect" <<<"$log"
    done
    for bad in prove-panic prove-hardfault prove-overflow; do
        status=0; out=""
        if elf=$(build "$target" "$bad"); then
            out=$(run_qemu "$target" "$elf") || status=$?
        else
            # A variant that does not build proves nothing about failing at run time.
            status=124
        fi
        result=$(grep '^result=' <<<"$out" | head -c 60)
        DESC="$target firmware with $bad exits non-zero ($status: $result)"
        if [ "$bad" = prove-overflow ]; then
            # The guard below the stack must stop the recursion at once with its own line
            # (a hang until the timeout, 124, or a silent corruption would not do).
            check test "$status" -ne 0 -a "$status" -ne 124 -a "$result" = result=STACK_OVERFLOW
        else
            check test "$status" -ne 0 -a "$status" -ne 124
        fi
    done
done
mv "$ROOT/target/firmware-stack.txt.new" "$ROOT/target/firmware-stack.txt"

section "footprint"
"$ROOT/scripts/footprint.sh"
exit $fail
