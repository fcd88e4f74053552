#!/bin/sh
# guest-compare.sh: run the guest tests (tests/guest) natively and in the unikernel and compare the outputs line by line.
# Usage: guest-compare.sh [-l glibc|musl] [-a tcg|kvm] [TEST...]   (default: both libcs, every family test)
# Needs guest-build.sh to have run. Exit status: 0 when every run passed and every pair of outputs agrees.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/build/guest"
libcs="glibc musl" accel=tcg
while getopts l:a: o; do
    case $o in
    l) libcs=$OPTARG ;;
    a) accel=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
tests=${*:-"io fs mm proc thread signal time misc fork"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for libc in $libcs; do
    for t in $tests; do
        bin="$out/$libc/$t"
        (cd "$out/$libc" && "./$t") > "$work/native" 2>&1
        nrc=$?
        extra=""
        [ "$t" != fs ] || extra="--dir $out/$libc/fstree=$out/$libc/fstree"
        # shellcheck disable=SC2086
        "$repo/libos/scripts/devimage.sh" "$bin" -o "$work/$t.uni" $extra 2>"$work/build.log" ||
            { cat "$work/build.log"; status=1; continue; }
        "$repo/libos/scripts/devrun.sh" "$work/$t.uni" --accel "$accel" --log "$work/log" > "$work/vm" 2>&1
        vrc=$?
        if [ $nrc -eq 0 ] && [ $vrc -eq 0 ] && cmp -s "$work/native" "$work/vm"; then
            echo "OK   $libc/$t: $(tail -1 "$work/vm")"
        else
            echo "DIFF $libc/$t: native rc=$nrc, unikernel rc=$vrc"
            diff "$work/native" "$work/vm" | head -20
            grep -v '^D2U:ENTER' "$work/log" | head -20
            status=1
        fi
    done
done
exit $status
