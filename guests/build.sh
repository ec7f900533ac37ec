#!/usr/bin/env bash
# Builds the bare-metal guest programs reproducibly and copies the ELF files to prebuilt/riscv64/ and
# prebuilt/x86_64/.
#
#   ./build.sh          build, and update prebuilt/<arch>/<name>.elf
#   ./build.sh --check  rebuild in a fresh temporary target directory and compare, byte for byte, with the
#                       committed prebuilt files; exit 1 naming every file that differs
#
# Reproducibility: the toolchain is pinned by rust-toolchain.toml (1.95.0) and the dependencies by
# Cargo.lock; the release profile (Cargo.toml) uses codegen-units = 1, fat LTO and no debug info; and the
# flags below pin the CPU and its features, drop the linker's build id and remap the source and cargo
# registry paths (the only host paths that could reach the binaries, through panic locations).
# The output does not depend on the target directory or on where this directory is checked out.
#
# The x86-64 programs are built for x86_64-unknown-linux-gnu as freestanding static ELF files (no_std, no
# libc, panic=abort, static relocation model, linked by the toolchain's own rust-lld with their linker
# script), so that their floating point is SSE2 like the host's; x86_64-unknown-none would be soft float.
set -euo pipefail

GUESTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$GUESTS"

MODE=build
case "${1:-}" in
    "") ;;
    --check) MODE=check ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (use --check or nothing)" >&2; exit 2 ;;
esac

TARGET=riscv64gc-unknown-none-elf
BINS=(demo bench isa_int isa_amo isa_fp isa_trap isa_irq htif)
PREBUILT="$GUESTS/prebuilt/riscv64"
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"

if [ "$MODE" = check ]; then
    TARGET_DIR="$(mktemp -d "${TMPDIR:-/tmp}/guests-check.XXXXXX")"
    trap 'rm -rf "$TARGET_DIR"' EXIT
else
    TARGET_DIR="${CARGO_TARGET_DIR:-$GUESTS/target}"
fi

# -C flags, one per element (CARGO_ENCODED_RUSTFLAGS separates them with 0x1f, so paths may hold spaces).
FLAGS=(
    "-Ctarget-cpu=generic-rv64"
    # RV64GC: F and D come with the target itself (they fix its lp64d ABI; rustc refuses to toggle them).
    "-Ctarget-feature=+m,+a,+c,+zicsr,+zifencei"
    "-Clink-arg=--build-id=none"
    "-Ccodegen-units=1"
    "--remap-path-prefix=$GUESTS=/guests"
    "--remap-path-prefix=$CARGO_HOME_DIR=/cargo"
)
ENCODED="$(printf '%s\x1f' "${FLAGS[@]}")"
ENCODED="${ENCODED%$'\x1f'}"

echo "build.sh: $(rustc --version) (from $GUESTS/rust-toolchain.toml), target dir $TARGET_DIR" >&2
env -u RUSTFLAGS CARGO_ENCODED_RUSTFLAGS="$ENCODED" CARGO_TARGET_DIR="$TARGET_DIR" \
    CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build --locked --release -p riscv64 --target "$TARGET" --bins

# The workloads crate must also build for x86-64 bare metal (a later program runs it there).
env -u RUSTFLAGS CARGO_TARGET_DIR="$TARGET_DIR" \
    cargo build --locked --release -p workloads --target x86_64-unknown-none

X86_TARGET=x86_64-unknown-linux-gnu
X86_BINS=(hello bench rt_check fault)
X86_PREBUILT="$GUESTS/prebuilt/x86_64"
LLD="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-lld"
X86_FLAGS=(
    "-Ctarget-cpu=x86-64"
    "-Cpanic=abort"
    "-Crelocation-model=static"
    "-Clinker=$LLD"
    "-Clinker-flavor=ld.lld"
    "-Clink-arg=--build-id=none"
    "-Ccodegen-units=1"
    "--remap-path-prefix=$GUESTS=/guests"
    "--remap-path-prefix=$CARGO_HOME_DIR=/cargo"
)
X86_ENCODED="$(printf '%s\x1f' "${X86_FLAGS[@]}")"
X86_ENCODED="${X86_ENCODED%$'\x1f'}"
env -u RUSTFLAGS CARGO_ENCODED_RUSTFLAGS="$X86_ENCODED" CARGO_TARGET_DIR="$TARGET_DIR" \
    CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build --locked --release -p x86_64 --target "$X86_TARGET" --bins

OUT="$TARGET_DIR/$TARGET/release"
X86_OUT="$TARGET_DIR/$X86_TARGET/release"
if [ "$MODE" = build ]; then
    mkdir -p "$PREBUILT"
    for b in "${BINS[@]}"; do
        cp "$OUT/$b" "$PREBUILT/$b.elf"
        chmod 644 "$PREBUILT/$b.elf"
    done
    (cd "$PREBUILT" && sha256sum -- *.elf)
    mkdir -p "$X86_PREBUILT"
    for b in "${X86_BINS[@]}"; do
        cp "$X86_OUT/$b" "$X86_PREBUILT/$b.elf"
        chmod 644 "$X86_PREBUILT/$b.elf"
    done
    (cd "$X86_PREBUILT" && sha256sum -- *.elf)
    exit 0
fi

status=0
for b in "${BINS[@]}"; do
    if [ ! -f "$PREBUILT/$b.elf" ]; then
        echo "build.sh --check: prebuilt/riscv64/$b.elf is missing (run ./build.sh)" >&2
        status=1
    elif ! cmp -s "$OUT/$b" "$PREBUILT/$b.elf"; then
        echo "build.sh --check: prebuilt/riscv64/$b.elf differs from a fresh build" \
            "($(sha256sum < "$PREBUILT/$b.elf" | cut -c1-16) committed," \
            "$(sha256sum < "$OUT/$b" | cut -c1-16) rebuilt)" >&2
        status=1
    fi
done
for b in "${X86_BINS[@]}"; do
    if [ ! -f "$X86_PREBUILT/$b.elf" ]; then
        echo "build.sh --check: prebuilt/x86_64/$b.elf is missing (run ./build.sh)" >&2
        status=1
    elif ! cmp -s "$X86_OUT/$b" "$X86_PREBUILT/$b.elf"; then
        echo "build.sh --check: prebuilt/x86_64/$b.elf differs from a fresh build" \
            "($(sha256sum < "$X86_PREBUILT/$b.elf" | cut -c1-16) committed," \
            "$(sha256sum < "$X86_OUT/$b" | cut -c1-16) rebuilt)" >&2
        status=1
    fi
done
if [ "$status" = 0 ]; then
    echo "build.sh --check: all $(( ${#BINS[@]} + ${#X86_BINS[@]} )) prebuilt ELF files match a fresh build" >&2
fi
exit "$status"
