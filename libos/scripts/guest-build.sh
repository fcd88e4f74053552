#!/bin/sh
# guest-build.sh: build the guest test programs (tests/guest/*.c) static with glibc and musl: guest-build.sh [OUTDIR].
# Output: OUTDIR/glibc/<name>, OUTDIR/musl/<name> (default OUTDIR: <repo>/build/guest), and an
# fstree fixture next to each fs binary (guest-fstree.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
src_dir="$repo/tests/guest"
out=${1:-$repo/build/guest}
mkdir -p "$out/glibc" "$out/musl"
CFLAGS="-O2 -Wall -Wextra -Werror -Wno-unused-parameter"
# musl-gcc sees only musl's headers; the programs also use a few kernel UAPI headers.
MUSL_INC="-idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu"
for src in "$src_dir"/*.c; do
    name=$(basename "$src" .c)
    gcc $CFLAGS -static -o "$out/glibc/$name" "$src"
    musl-gcc $CFLAGS $MUSL_INC -static -o "$out/musl/$name" "$src"
done
"$here/guest-fstree.sh" "$out/glibc"
"$here/guest-fstree.sh" "$out/musl"
echo "guest-build.sh: guest programs in $out/glibc and $out/musl"
