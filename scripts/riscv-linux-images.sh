#!/usr/bin/env bash
# Fetches and builds the files that boot Debian's RISC-V Linux on a QEMU-virt-like riscv64 machine:
#
#   fw_dynamic.bin, fw_jump.bin  OpenSBI, generic platform (Debian package `opensbi`)
#   Image                        raw RISC-V kernel Image (Debian trixie `linux-image-riscv64`, riscv64)
#   initramfs.cpio.gz            busybox (trixie `busybox-static`, riscv64) and an /init that prints
#                                `vm-init: reached /init on <release> with <N> cpus` and powers off
#                                (initramfs.cpio, uncompressed, if the kernel cannot unpack gzip)
#   kernel.config                the kernel's configuration (/boot/config-* of the package)
#   VERSION, SHA256SUMS          where each file came from; checksums used to skip valid files
#
# usage: scripts/riscv-linux-images.sh [--force] [--boot-check] [OUT_DIR]
#
#   OUT_DIR        where the files go: the argument, else $VM_RISCV_IMAGES, else <repo>/images/riscv64
#   --force        fetch and rebuild everything (picks up newer Debian packages)
#   --boot-check   afterwards boot the files on qemu-system-riscv64 with -smp 1 and -smp 4, check that
#                  /init is reached and the machine powers off; logs: OUT_DIR/qemu-boot{,-smp4}.log
#
# Environment: DEBIAN_MIRROR (http://deb.debian.org/debian), DEBIAN_KEYRING
# (/usr/share/keyrings/debian-archive-keyring.gpg), KERNEL_SUITE (trixie: kernel and busybox),
# OPENSBI_SUITE (bookworm: OpenSBI 1.1; trixie: OpenSBI 1.6), BOOT_TIMEOUT (seconds per QEMU boot, 300).
#
# Debian packages are fetched with `apt-get download` through a private apt configuration in a
# temporary directory (its own sources.list, lists, cache and an empty dpkg status), so the host's apt
# state is never read or changed and no root is needed. Only missing host tools are installed with the
# host's apt-get (through sudo when not root). Running it again skips every file that is present and
# valid; the outputs are byte-identical from run to run for the same packages.
set -euo pipefail
export LC_ALL=C

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$SCRIPTS")"

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING="${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
KERNEL_SUITE="${KERNEL_SUITE:-trixie}"
OPENSBI_SUITE="${OPENSBI_SUITE:-bookworm}"
BOOT_TIMEOUT="${BOOT_TIMEOUT:-300}"
CMDLINE="console=ttyS0 earlycon=sbi panic=-1"
INIT_LINE="vm-init: reached /init"

# Busybox applets that get a symlink in /bin (the /init script needs the first six).
APPLETS=(sh mount echo cat poweroff uname ls dmesg)

# /init of the initramfs. It counts the processors in /proc/cpuinfo with shell built-ins only.
read -r -d '' INIT_SCRIPT <<'EOF' || true
#!/bin/sh
# /init of the initramfs built by scripts/riscv-linux-images.sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
n=0
while read -r key _; do
    if [ "$key" = processor ]; then n=$((n + 1)); fi
done < /proc/cpuinfo
echo "vm-init: reached /init on $(uname -r) with $n cpus"
poweroff -f
EOF

# Writes a newc ("070701") cpio archive, optionally gzip-compressed, without root: device nodes and
# owners are written into the headers directly. Entries are sorted, inodes numbered in that order,
# owners 0:0 and every mtime 0, and gzip gets no name and mtime 0, so the output is byte-identical
# from run to run. Written here rather than with cpio(1), which cannot create device nodes without root.
# argv: OUT gzip|none BUSYBOX INIT APPLET...
read -r -d '' CPIO_PY <<'EOF' || true
import gzip, os, stat, sys

out, compression, busybox, init = sys.argv[1:5]
applets = sys.argv[5:]
entries = {}  # path -> (mode, rdev major, rdev minor, data)
for d in ("bin", "dev", "proc", "sys"):
    entries[d] = (stat.S_IFDIR | 0o755, 0, 0, b"")
entries["dev/console"] = (stat.S_IFCHR | 0o600, 5, 1, b"")
entries["dev/null"] = (stat.S_IFCHR | 0o666, 1, 3, b"")
with open(busybox, "rb") as f:
    entries["bin/busybox"] = (stat.S_IFREG | 0o755, 0, 0, f.read())
for a in applets:
    entries["bin/" + a] = (stat.S_IFLNK | 0o777, 0, 0, b"busybox")
with open(init, "rb") as f:
    entries["init"] = (stat.S_IFREG | 0o755, 0, 0, f.read())

def pad4(n):
    return b"\0" * (-n % 4)

def record(ino, name, mode, rmaj, rmin, data):
    nlink = 2 if stat.S_ISDIR(mode) else 1
    name_b = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmaj, rmin, len(name_b), 0)
    head = b"070701" + b"".join(b"%08X" % v for v in fields)
    return head + name_b + pad4(len(head) + len(name_b)) + data + pad4(len(data))

parts = []
for ino, name in enumerate(sorted(entries), start=1):
    parts.append(record(ino, name, *entries[name]))
parts.append(record(0, "TRAILER!!!", 0, 0, 0, b""))
blob = b"".join(parts)
if compression == "gzip":
    blob = gzip.compress(blob, compresslevel=9, mtime=0)
tmp = out + ".tmp"
with open(tmp, "wb") as f:
    f.write(blob)
os.replace(tmp, out)
EOF

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'riscv-linux-images.sh: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'riscv-linux-images.sh: %s\n' "$*" >&2; exit 2; }

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

FORCE=0
BOOT_CHECK=0
OUT_ARG=""
while [ $# -gt 0 ]; do
    case "$1" in
        --force) FORCE=1 ;;
        --boot-check) BOOT_CHECK=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) usage_error "unknown option '$1' (see --help)" ;;
        *) [ -z "$OUT_ARG" ] || usage_error "only one OUT_DIR may be given"; OUT_ARG="$1" ;;
    esac
    shift
done
OUT="${OUT_ARG:-${VM_RISCV_IMAGES:-$ROOT/images/riscv64}}"
case "$OPENSBI_SUITE" in
    bookworm|trixie) ;;
    *) usage_error "OPENSBI_SUITE must be bookworm or trixie, not '$OPENSBI_SUITE'" ;;
esac

# ---------------------------------------------------------------------------------------------- tools

# Installs Debian packages on the host (root directly, else through sudo).
install_host_packages() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing host packages ($*): install them (apt-get install $*)"
        sudo=(sudo)
    fi
    log "installing host packages: $*"
    if ! "${sudo[@]}" apt-get install -y --no-install-recommends "$@"; then
        "${sudo[@]}" apt-get update
        "${sudo[@]}" apt-get install -y --no-install-recommends "$@"
    fi
}

# need CMD:PACKAGE... : installs the packages of the commands that are missing.
need() {
    local want=() spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null || want+=("${spec#*:}")
    done
    [ ${#want[@]} -eq 0 ] || install_host_packages "${want[@]}"
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null || die "${spec%%:*} is still missing after installing ${spec#*:}"
    done
}

command -v apt-get >/dev/null || die "apt-get is needed (this script uses Debian's package tools)"
need dpkg-deb:dpkg tar:tar python3:python3 gzip:gzip sha256sum:coreutils od:coreutils dd:coreutils
[ "$BOOT_CHECK" -eq 0 ] || need qemu-system-riscv64:qemu-system-misc timeout:coreutils
[ -r "$KEYRING" ] || [ -n "${DEBIAN_KEYRING:-}" ] || install_host_packages debian-archive-keyring
[ -r "$KEYRING" ] || die "the Debian archive keyring $KEYRING is missing (set DEBIAN_KEYRING)"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SHOW="$(realpath --relative-base="$PWD" "$OUT")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/riscv-linux-images.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------------------------ state (VERSION)

# Keys of OUT/VERSION, in the order they are written.
KEYS=(kernel_release kernel_package kernel_file opensbi_package busybox_package initramfs initramfs_recipe)
declare -A V=()
if [ "$FORCE" -eq 0 ] && [ -f "$OUT/VERSION" ]; then
    while IFS='=' read -r k v; do
        [ -n "$k" ] && V["$k"]="$v"
    done < "$OUT/VERSION"
fi

# ok FILE: FILE exists and matches its line in OUT/SHA256SUMS.
ok() {
    [ "$FORCE" -eq 0 ] && [ -s "$OUT/$1" ] && [ -f "$OUT/SHA256SUMS" ] || return 1
    local line
    line="$(grep -E "^[0-9a-f]{64}  $1\$" "$OUT/SHA256SUMS")" || return 1
    (cd "$OUT" && printf '%s\n' "$line" | sha256sum --quiet -c - >/dev/null 2>&1)
}

# riscv_image FILE: FILE starts with a RISC-V Image header ("RISCV\0\0\0" at 0x30, "RSC\x05" at 0x38).
riscv_image() {
    cmp -s <(dd if="$1" bs=1 skip=48 count=12 2>/dev/null) <(printf 'RISCV\0\0\0RSC\005')
}

# ----------------------------------------------------------------------------------- private apt roots

# apt_root SUITE ARCH: prints the APT_CONFIG file of a private apt for SUITE/main/ARCH, updating its
# package lists on first use.
apt_root() {
    local dir="$WORK/apt-$1-$2"
    if [ ! -f "$dir/apt.conf" ]; then
        mkdir -p "$dir"/{etc/parts,etc/sourceparts,lists/partial,archives/partial,cache}
        : > "$dir/status"
        printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$2" "$KEYRING" "$MIRROR" "$1" > "$dir/etc/sources.list"
        # Dir::Etc::parts is read right after APT_CONFIG: pointing it at an empty directory keeps the
        # host's /etc/apt/apt.conf.d (proxies aside, nothing there applies to a foreign-architecture
        # download tree) out.
        cat > "$dir/apt.conf" <<EOF
Dir::Etc::parts "$dir/etc/parts";
Dir::Etc::main "/dev/null";
Dir::Etc::sourcelist "$dir/etc/sources.list";
Dir::Etc::sourceparts "$dir/etc/sourceparts";
Dir::Etc::preferences "/dev/null";
Dir::Etc::preferencesparts "$dir/etc/parts";
Dir::State "$dir";
Dir::State::lists "$dir/lists";
Dir::State::status "$dir/status";
Dir::Cache "$dir/cache";
Dir::Cache::archives "$dir/archives";
APT::Architecture "$2";
APT::Architectures { "$2"; };
Acquire::Languages "none";
EOF
        # The host's apt proxy settings still apply (http_proxy and friends in the environment do too).
        apt-config dump 2>/dev/null | grep -E '^Acquire::(http|https|ftp)::Proxy ' >> "$dir/apt.conf" || true
        # As root, apt downloads as the _apt user, which cannot write into this private directory.
        [ "$(id -u)" -ne 0 ] || echo 'APT::Sandbox::User "root";' >> "$dir/apt.conf"
        log "apt-get update: $MIRROR $1 main ($2), private lists in a temporary directory" >&2
        APT_CONFIG="$dir/apt.conf" apt-get -q update >&2 || die "apt-get update failed for $1 ($2)"
    fi
    printf '%s\n' "$dir/apt.conf"
}

# apt_field CONF PACKAGE FIELD: one field of the candidate version of PACKAGE.
apt_field() {
    APT_CONFIG="$1" apt-cache show --no-all-versions "$2" | sed -n "s/^$3: //p" | head -n 1
}

# fetch SUITE ARCH PACKAGE: downloads PACKAGE into a fresh directory and prints the .deb path.
fetch() {
    local conf dir
    conf="$(apt_root "$1" "$2")"
    dir="$WORK/deb-$3"
    mkdir -p "$dir"
    log "apt-get download $3 ($1, $2)" >&2
    (cd "$dir" && APT_CONFIG="$conf" apt-get -q download "$3" >&2) || die "apt-get download $3 failed"
    local debs=("$dir"/*.deb)
    [ -f "${debs[0]}" ] || die "apt-get download $3 left no .deb"
    printf '%s\n' "${debs[0]}"
}

# deb_id DEB SUITE: "name_version_arch (suite)" of a .deb.
deb_id() {
    printf '%s_%s_%s (%s)\n' "$(dpkg-deb -f "$1" Package)" "$(dpkg-deb -f "$1" Version)" \
        "$(dpkg-deb -f "$1" Architecture)" "$2"
}

# -------------------------------------------------------------------------------------------- OpenSBI

if ok fw_dynamic.bin && ok fw_jump.bin && [[ "${V[opensbi_package]:-}" == *"($OPENSBI_SUITE)" ]]; then
    log "OpenSBI: present, ${V[opensbi_package]}"
else
    # opensbi is Architecture: all; bookworm has no riscv64 port, so its amd64 index lists it.
    if [ "$OPENSBI_SUITE" = bookworm ]; then arch=amd64; else arch=riscv64; fi
    deb="$(fetch "$OPENSBI_SUITE" "$arch" opensbi)"
    dpkg-deb -x "$deb" "$WORK/opensbi"
    for f in fw_dynamic.bin fw_jump.bin; do
        src="$WORK/opensbi/usr/lib/riscv64-linux-gnu/opensbi/generic/$f"
        [ -s "$src" ] || die "$(basename "$deb") has no generic/$f"
        grep -q OpenSBI "$src" || die "generic/$f of $(basename "$deb") does not look like OpenSBI"
        install -m 0644 "$src" "$OUT/$f"
    done
    V[opensbi_package]="$(deb_id "$deb" "$OPENSBI_SUITE")"
    log "OpenSBI: ${V[opensbi_package]} -> fw_dynamic.bin, fw_jump.bin"
fi

# --------------------------------------------------------------------------------------------- kernel

# decompressor TYPE: the command line that decompresses TYPE (an EFI zboot compression name) to stdout.
decompressor() {
    case "$1" in
        gzip) need gzip:gzip; echo "gzip -dc" ;;
        zstd) need zstd:zstd; echo "zstd -dc" ;;
        xzkern|xz) need xz:xz-utils; echo "xz -dc" ;;
        lzma) need xz:xz-utils; echo "xz --format=lzma -dc" ;;
        bzip2) need bzip2:bzip2; echo "bzip2 -dc" ;;
        lz4) need lz4:lz4; echo "lz4 -dc" ;;
        lzo) need lzop:lzop; echo "lzop -dc" ;;
        *) die "unknown kernel compression '$1'" ;;
    esac
}

# raw_image IN OUT: writes the raw Image that IN holds (raw already, gzip-compressed, or EFI zboot)
# to OUT and prints what IN was.
raw_image() {
    local magic4 cmd
    if riscv_image "$1"; then
        cp "$1" "$2"
        echo "a raw Image, with an EFI stub"
        return
    fi
    magic4="$(od -An -tx1 -N4 "$1" | tr -d ' \n')"
    if [ "${magic4:0:4}" = 1f8b ]; then
        gzip -dc "$1" > "$2"
        echo "gzip-compressed Image"
    elif [ "$magic4" = 4d5a0000 ] && [ "$(dd if="$1" bs=1 skip=4 count=4 2>/dev/null)" = zimg ]; then
        # EFI zboot: "zimg" at 4, payload offset and size (u32 LE) at 8 and 12, compression name at 0x18.
        local off size type
        read -r off size < <(od -An -tu4 --endian=little -j8 -N8 "$1")
        type="$(dd if="$1" bs=1 skip=24 count=32 2>/dev/null | tr -d '\0')"
        cmd="$(decompressor "$type")"
        # shellcheck disable=SC2086 # $cmd is a command and its options
        tail -c +"$((off + 1))" "$1" | head -c "$size" | $cmd > "$2"
        echo "EFI zboot image ($type)"
    else
        die "$(basename "$1") is neither a RISC-V Image nor a gzip or EFI zboot image (starts $magic4)"
    fi
    riscv_image "$2" || die "the Image unpacked from $(basename "$1") has no RISC-V Image header"
}

if ok Image && ok kernel.config && riscv_image "$OUT/Image" && [ -n "${V[kernel_release]:-}" ] &&
    [[ "${V[kernel_package]:-}" == *"($KERNEL_SUITE)" ]]; then
    log "kernel: present, ${V[kernel_release]} from ${V[kernel_package]:-?}"
else
    conf="$(apt_root "$KERNEL_SUITE" riscv64)"
    # linux-image-riscv64 is a metapackage; its first linux-image-* dependency is the real kernel.
    meta_deps="$(apt_field "$conf" linux-image-riscv64 Depends)"
    kpkg="$(printf '%s\n' "$meta_deps" | tr ',|' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)"
    [ -n "$kpkg" ] || die "cannot find the kernel package in linux-image-riscv64's Depends: $meta_deps"
    log "kernel: linux-image-riscv64 depends on $kpkg"
    deb="$(fetch "$KERNEL_SUITE" riscv64 "$kpkg")"
    release="${kpkg#linux-image-}"
    mkdir -p "$WORK/kernel"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$WORK/kernel" --wildcards './boot/*'
    kfile=""
    for f in "$WORK/kernel/boot/vmlinux-$release" "$WORK/kernel/boot/vmlinuz-$release"; do
        [ -f "$f" ] && { kfile="$f"; break; }
    done
    [ -n "$kfile" ] || die "$(basename "$deb") has no /boot/vmlinux-$release or /boot/vmlinuz-$release"
    [ -f "$WORK/kernel/boot/config-$release" ] || die "$(basename "$deb") has no /boot/config-$release"
    kind="$(raw_image "$kfile" "$WORK/Image")"
    install -m 0644 "$WORK/Image" "$OUT/Image"
    install -m 0644 "$WORK/kernel/boot/config-$release" "$OUT/kernel.config"
    V[kernel_release]="$release"
    V[kernel_package]="$(deb_id "$deb" "$KERNEL_SUITE")"
    V[kernel_file]="/boot/$(basename "$kfile"): $kind"
    log "kernel: ${V[kernel_package]}, /boot/$(basename "$kfile") ($kind) -> Image"
fi

# ------------------------------------------------------------------------------------------ initramfs

# The kernel unpacks a gzip initramfs only with CONFIG_RD_GZIP=y.
if grep -qx 'CONFIG_RD_GZIP=y' "$OUT/kernel.config"; then
    initramfs=initramfs.cpio.gz; compression=gzip
else
    initramfs=initramfs.cpio; compression=none
fi
recipe="$(printf '%s\n' "$INIT_SCRIPT" "${APPLETS[*]}" "$CPIO_PY" "$compression" | sha256sum | cut -c1-16)"
if ok "$initramfs" && [ "${V[initramfs_recipe]:-}" = "$recipe" ] &&
    [[ "${V[busybox_package]:-}" == *"($KERNEL_SUITE)" ]]; then
    log "initramfs: present, $initramfs with ${V[busybox_package]}"
else
    deb="$(fetch "$KERNEL_SUITE" riscv64 busybox-static)"
    dpkg-deb -x "$deb" "$WORK/busybox"
    bb=""
    for f in "$WORK/busybox/usr/bin/busybox" "$WORK/busybox/bin/busybox"; do
        [ -f "$f" ] && { bb="$f"; break; }
    done
    [ -n "$bb" ] || die "$(basename "$deb") has no /bin/busybox or /usr/bin/busybox"
    # ELF64 (class 2), little-endian, e_machine 0xf3 (RISC-V).
    elf="$(od -An -tx1 -N6 "$bb" | tr -d ' \n')$(od -An -tx1 -j18 -N2 "$bb" | tr -d ' \n')"
    [ "$elf" = 7f454c460201f300 ] || die "$(basename "$deb")'s busybox is not a 64-bit little-endian RISC-V ELF file"
    printf '%s\n' "$INIT_SCRIPT" > "$WORK/init"
    rm -f "$OUT/initramfs.cpio" "$OUT/initramfs.cpio.gz"
    python3 -c "$CPIO_PY" "$OUT/$initramfs" "$compression" "$bb" "$WORK/init" "${APPLETS[@]}"
    V[busybox_package]="$(deb_id "$deb" "$KERNEL_SUITE")"
    V[initramfs_recipe]="$recipe"
    log "initramfs: ${V[busybox_package]} + /init -> $initramfs ($(stat -c %s "$OUT/$initramfs") bytes)"
fi
V[initramfs]="$initramfs"

# ------------------------------------------------------------------------------ VERSION, SHA256SUMS

for k in "${KEYS[@]}"; do printf '%s=%s\n' "$k" "${V[$k]:-}"; done > "$OUT/VERSION"
(cd "$OUT" && sha256sum fw_dynamic.bin fw_jump.bin Image kernel.config "$initramfs") > "$OUT/SHA256SUMS"

log "done: $SHOW"
for f in fw_dynamic.bin fw_jump.bin Image kernel.config "$initramfs" VERSION SHA256SUMS; do
    note "$f ($(stat -c %s "$OUT/$f") bytes)"
done
note "kernel ${V[kernel_release]}; OpenSBI ${V[opensbi_package]}; busybox ${V[busybox_package]}"

QEMU_ARGS=(-M virt -m 512M -nographic -no-reboot -bios "$SHOW/fw_dynamic.bin" -kernel "$SHOW/Image"
    -initrd "$SHOW/$initramfs" -append "$CMDLINE")
echo
echo "Boot (the guest prints '$INIT_LINE on ${V[kernel_release]} with N cpus' and powers off):"
echo "  target/release/vm run --machine riscv64-virt -m 512M --smp 1 --bios $SHOW/fw_dynamic.bin \\"
echo "      --kernel $SHOW/Image --initrd $SHOW/$initramfs --append \"$CMDLINE\""
echo "  qemu-system-riscv64 -M virt -m 512M -smp 1 -nographic -no-reboot -bios $SHOW/fw_dynamic.bin \\"
echo "      -kernel $SHOW/Image -initrd $SHOW/$initramfs -append \"$CMDLINE\""
echo "  (--smp 4 / -smp 4 for four harts)"
if [ "$OPENSBI_SUITE" = bookworm ]; then
    echo "  Note: with OpenSBI 1.1, earlycon=sbi prints nothing (\"Malformed early option 'earlycon'\"): this"
    echo "  kernel's SBI earlycon needs the DBCN extension of OpenSBI >= 1.3 (OPENSBI_SUITE=trixie: 1.6)."
fi

# --------------------------------------------------------------------------------------- boot check

# boot_check HARTS LOG: boots on QEMU, prints the seconds from start to the /init line.
boot_check() {
    local start seen="$WORK/seen-$1" status
    start="$EPOCHREALTIME"
    rm -f "$seen"
    set +e
    timeout "$BOOT_TIMEOUT" qemu-system-riscv64 "${QEMU_ARGS[@]:0:2}" -smp "$1" "${QEMU_ARGS[@]:2}" \
        </dev/null 2>&1 | tr -d '\r' | tee "$2" | while IFS= read -r line; do
        if [[ "$line" == *"$INIT_LINE"* ]] && [ ! -f "$seen" ]; then
            printf '%s %s\n' "$EPOCHREALTIME" "$line" > "$seen"
        fi
    done
    status="${PIPESTATUS[0]}"
    set -e
    [ -f "$seen" ] || die "-smp $1: no '$INIT_LINE' line within ${BOOT_TIMEOUT}s (QEMU status $status); log: $2"
    local t line
    read -r t line < "$seen"
    [[ "$line" == *" with $1 cpus"* ]] || die "-smp $1: wrong line '$line'; log: $2"
    [ "$status" -eq 0 ] || die "-smp $1: QEMU did not power off cleanly (status $status); log: $2"
    local kt
    kt="$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$2" | head -n 1)"
    printf '    -smp %s: "%s" %.1f s after QEMU started (kernel clock at "Run /init": %s s), then powered off\n' \
        "$1" "$line" "$(awk -v a="$t" -v b="$start" 'BEGIN { print a - b }')" "${kt:-?}"
}

if [ "$BOOT_CHECK" -eq 1 ]; then
    echo
    log "boot check on $(qemu-system-riscv64 --version | head -n 1)"
    boot_check 1 "$OUT/qemu-boot.log"
    boot_check 4 "$OUT/qemu-boot-smp4.log"
fi
