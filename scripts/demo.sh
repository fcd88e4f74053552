#!/usr/bin/env bash
# demo.sh: the main job end to end on built-in fixture images:
# inspect an image, audit it, convert it into a unikernel, and boot it under QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
D2U=.venv/bin/dock2uni
OUT=build/demo
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Building the fixture images (cached after the first run)"
.venv/bin/python -m fixtures.build busybox hello-static-glibc

BUSYBOX="oci:build/fixtures/oci/busybox:latest"
HELLO="oci:build/fixtures/oci/hello-static-glibc:latest"

step "dock2uni inspect $BUSYBOX"
$D2U inspect "$BUSYBOX"

step "dock2uni audit $BUSYBOX --format markdown --fail-on never (the migration report)"
$D2U audit "$BUSYBOX" --format markdown --fail-on never > "$OUT/busybox-audit.md"
head -30 "$OUT/busybox-audit.md"
echo "[... the whole report: $OUT/busybox-audit.md]"

step "dock2uni convert $HELLO -o $OUT/hello.uni"
$D2U convert "$HELLO" -o "$OUT/hello.uni"

step "dock2uni run $OUT/hello.uni"
$D2U run "$OUT/hello.uni" --timeout 120

step "dock2uni convert $BUSYBOX -o $OUT/busybox.uni"
$D2U convert "$BUSYBOX" -o "$OUT/busybox.uni"

step "dock2uni run $OUT/busybox.uni -- sh -c 'echo hello from busybox in a unikernel; exit 7'"
set +e
$D2U run "$OUT/busybox.uni" --timeout 120 -- sh -c 'echo hello from busybox in a unikernel; exit 7'
rc=$?
set -e
echo "exit code: $rc (expected 7)"
[ "$rc" = 7 ]

step "dock2uni inspect $OUT/busybox.uni"
$D2U inspect "$OUT/busybox.uni"
