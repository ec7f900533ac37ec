#!/usr/bin/env bash
# Runs the deterministic guest programs on QEMU and records their console output and exit status: the
# reference outputs of the project's differential tests.
#
#   ./qemu-expected.sh          run, and write expected/riscv64/<name>.out and <name>.code
#   ./qemu-expected.sh --check  run, and compare with the committed files (exit 1 naming any difference)
#
# Each program runs from prebuilt/riscv64/<name>.elf on
#   qemu-system-riscv64 -M virt -bios none -nographic -m 128M -kernel ELF
# with stdin from /dev/null, under a timeout. <name>.out is QEMU's standard output byte for byte (with
# -nographic and -bios none nothing but the guest's UART0 writes it); <name>.code is QEMU's exit status
# (the SiFive test finisher's code). Anything QEMU writes to standard error, a non-zero status, a timeout
# or a missing final PASS line is reported as a failure and nothing is written for that program.
# demo (timing in its output) and htif (QEMU virt does not serve HTIF: it would spin until killed) are
# not run.
set -euo pipefail

GUESTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$GUESTS"

MODE=write
case "${1:-}" in
    "") ;;
    --check) MODE=check ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "qemu-expected.sh: unknown argument '$1' (use --check or nothing)" >&2; exit 2 ;;
esac

QEMU="${QEMU:-qemu-system-riscv64}"
TIMEOUT_S="${TIMEOUT_S:-120}"
PROGRAMS=(isa_int isa_amo isa_fp isa_trap isa_irq bench)
EXPECTED="$GUESTS/expected/riscv64"

if ! command -v "$QEMU" >/dev/null; then
    echo "qemu-expected.sh: $QEMU not found (Debian: apt-get install qemu-system-misc)" >&2
    exit 2
fi
echo "qemu-expected.sh: $("$QEMU" --version | head -n1)" >&2

WORK="$(mktemp -d "${TMPDIR:-/tmp}/qemu-expected.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$EXPECTED"

status=0
for p in "${PROGRAMS[@]}"; do
    elf="$GUESTS/prebuilt/riscv64/$p.elf"
    if [ ! -f "$elf" ]; then
        echo "qemu-expected.sh: $elf is missing (run ./build.sh)" >&2
        status=1
        continue
    fi
    start_ms=$(($(date +%s%N) / 1000000))
    set +e
    timeout --signal=KILL "$TIMEOUT_S" "$QEMU" -M virt -bios none -nographic -m 128M -kernel "$elf" \
        </dev/null >"$WORK/$p.out" 2>"$WORK/$p.err"
    code=$?
    set -e
    ms=$(($(date +%s%N) / 1000000 - start_ms))
    last="$(tail -n1 "$WORK/$p.out")"
    problem=""
    if [ "$code" = 137 ]; then
        problem="timed out after ${TIMEOUT_S}s"
    elif [ -s "$WORK/$p.err" ]; then
        problem="QEMU wrote to stderr: $(head -c 300 "$WORK/$p.err")"
    elif [ "$code" != 0 ]; then
        problem="exit status $code"
    elif [ "$p" = bench ] && [ "$last" != "bench: done" ]; then
        problem="last line is '$last', not 'bench: done'"
    elif [ "$p" != bench ] && [[ "$last" != PASS* ]]; then
        problem="last line is '$last', not PASS"
    elif LC_ALL=C grep -q $'[\r\x1b]' "$WORK/$p.out"; then
        problem="output holds carriage returns or escape sequences"
    fi
    if [ -n "$problem" ]; then
        echo "qemu-expected.sh: $p: $problem" >&2
        status=1
        continue
    fi
    echo "$code" >"$WORK/$p.code"
    lines=$(wc -l <"$WORK/$p.out")
    if [ "$MODE" = write ]; then
        cp "$WORK/$p.out" "$EXPECTED/$p.out"
        cp "$WORK/$p.code" "$EXPECTED/$p.code"
        printf 'qemu-expected.sh: %-9s exit %s, %4s lines, %5s ms: %s\n' "$p" "$code" "$lines" "$ms" "$last" >&2
    else
        for ext in out code; do
            if ! cmp -s "$WORK/$p.$ext" "$EXPECTED/$p.$ext"; then
                echo "qemu-expected.sh --check: $p.$ext differs from expected/riscv64/$p.$ext:" >&2
                diff "$EXPECTED/$p.$ext" "$WORK/$p.$ext" | head -n 20 >&2 || true
                status=1
            fi
        done
    fi
done
if [ "$MODE" = check ] && [ "$status" = 0 ]; then
    echo "qemu-expected.sh --check: all ${#PROGRAMS[@]} programs match expected/riscv64/" >&2
fi
exit "$status"
