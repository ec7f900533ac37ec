#!/usr/bin/env bash
# Fetches Debian bookworm's stock x86-64 kernel (the package that `linux-image-amd64` depends on) with
# `apt-get download` and extracts its bzImage to images/x86_64/vmlinuz (git-ignored: never committed).
#
#   guests/x86_64/fetch-linux.sh            download unless images/x86_64/vmlinuz exists
#   guests/x86_64/fetch-linux.sh --force    download again
#
# It uses the host's normal apt configuration (a Debian 12 host, or any with bookworm sources) and needs
# no root: `apt-get download` writes the .deb to a temporary directory, `dpkg-deb` extracts it there.
# images/x86_64/vmlinuz.version records the package and version. The kernel is what the ignored test
# `x86_64_microvm::bzimage_early_console` boots:
#
#   cargo test -p vm-service --features accel --test x86_64_microvm -- --ignored
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="$ROOT/images/x86_64"
OUT="$OUT_DIR/vmlinuz"

case "${1:-}" in
    "") [ -s "$OUT" ] && { echo "fetch-linux.sh: $OUT exists (use --force to fetch again)" >&2; exit 0; } ;;
    --force) ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-linux.sh: unknown argument '$1' (use --force or nothing)" >&2; exit 2 ;;
esac

for tool in apt-get apt-cache dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "fetch-linux.sh: $tool is missing (a Debian host is needed)" >&2; exit 1; }
done

# The metapackage depends on the real, versioned image package (linux-image-6.1.0-N-amd64).
PKG="$(apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)"
if [ -z "$PKG" ]; then
    echo "fetch-linux.sh: apt knows no linux-image-amd64 (run 'apt-get update' with bookworm sources)" >&2
    exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fetch-linux.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"  # so that apt's unprivileged _apt user may write there
(cd "$WORK" && apt-get download "$PKG" >&2)
DEB="$(ls "$WORK"/*.deb)"
dpkg-deb -x "$DEB" "$WORK/root"
KERNEL="$(ls "$WORK"/root/boot/vmlinuz-* | head -n 1)"
mkdir -p "$OUT_DIR"
cp "$KERNEL" "$OUT"
chmod 644 "$OUT"
echo "$PKG $(dpkg-deb -f "$DEB" Version) $(basename "$KERNEL")" > "$OUT.version"
echo "fetch-linux.sh: $(cat "$OUT.version") -> $OUT ($(stat -c %s "$OUT") bytes)" >&2
