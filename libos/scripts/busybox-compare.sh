#!/bin/sh
# busybox-compare.sh: run busybox-static applets natively in a chroot and in the unikernel; diff the output.
# Usage (as root, for chroot): busybox-compare.sh [-a tcg|kvm]. Needs Debian's busybox-static (/bin/busybox).
# The same directory is the chroot and the image's rootfs, so file metadata agree.
set -u
here=$(cd "$(dirname "$0")" && pwd)
accel=tcg
[ "${1:-}" = "-a" ] && accel=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/bin" "$root/data/sub"
cp /bin/busybox "$root/bin/busybox"
printf 'hello from a file\n' > "$root/data/hello.txt"
head -c 100000 /bin/busybox > "$root/data/blob.bin"
printf 'inner\n' > "$root/data/sub/inner.txt"
ln -s hello.txt "$root/data/link"
find "$root/data" -exec touch -h -d '2024-01-02 03:04:05 UTC' {} +
"$here/devimage.sh" /bin/busybox -o "$work/bb.uni" --dir "$root/data=/data" 2>/dev/null || exit 1

status=0
run_case() { # name, applet args...
    name=$1
    shift
    chroot "$root" /bin/busybox "$@" > "$work/native" 2>&1
    nrc=$?
    "$here/devrun.sh" "$work/bb.uni" --accel "$accel" --log "$work/log" --args "$@" > "$work/vm" 2>&1
    vrc=$?
    if [ $nrc -eq $vrc ] && cmp -s "$work/native" "$work/vm"; then
        echo "SAME $name (exit $vrc)"
    else
        echo "DIFF $name (native exit $nrc, unikernel exit $vrc)"
        diff "$work/native" "$work/vm" | sed 's/^/    /'
        grep -v '^D2U:' "$work/log" | sed 's/^/    log: /'
        status=1
    fi
}
run_case echo echo hi
run_case cat cat /data/hello.txt
run_case cat-link cat /data/link
run_case sha256sum sha256sum /data/blob.bin
run_case ls-l ls -l /data
run_case ls-1R ls -1R /data
run_case uname uname -a
run_case sh-exit sh -c 'exit 7'
run_case sh-builtins sh -c 'cd /data/sub && pwd && echo $((6*7)) && test -e inner.txt && echo found'
run_case wc wc -c /data/blob.bin
run_case head head -n 1 /data/hello.txt
exit $status
