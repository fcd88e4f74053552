#!/usr/bin/env bash
# devrun.sh: boot a .uni image under QEMU microvm the way dock2uni run does (developer tool).
#
# Usage: devrun.sh OUT.uni [options] [-- KERNEL-CMDLINE-WORDS...] [--args ARGS...]
#   --log FILE      kernel log (COM2) to FILE; default: printed to stderr after the run
#   --initrd FILE   pass the rootfs as -initrd (images built with devimage.sh --initrd)
#   --accel A       tcg (default) or kvm
#   --cpu MODEL     QEMU CPU model (default max; KVM on nested hosts may need qemu64)
#   --mem SIZE      guest memory (default 128M)
#   --timeout S     stop the guest after S seconds (exit 124); default 60
#   --qemu ARG      one more QEMU argument (repeatable), e.g. a NIC and its -netdev
#   --args A...     (must be last) replace the image's Cmd: encoded as d2u.cmd=
# Exit status: the application's exit code, decoded from the log markers as in
# docs/console-protocol.md (EXIT N -> N, EXECFAIL -> 127/126, CRASH -> 128+S,
# PANIC or no marker -> 125, timeout -> 124).
set -uo pipefail

image="" log="" initrd="" accel="tcg" cpu="max" mem="128M" timeout_s=60
cmdline=() cmdargs=() have_args=0 extra=()
while (($#)); do
  case "$1" in
    --log) log="$2"; shift 2 ;;
    --initrd) initrd="$2"; shift 2 ;;
    --accel) accel="$2"; shift 2 ;;
    --cpu) cpu="$2"; shift 2 ;;
    --mem) mem="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --qemu) extra+=("$2"); shift 2 ;;
    --args) shift; have_args=1; cmdargs=("$@"); break ;;
    --) shift
        while (($#)) && [ "$1" != "--args" ]; do cmdline+=("$1"); shift; done ;;
    -*) echo "devrun.sh: unknown option $1" >&2; exit 2 ;;
    *) image="$1"; shift ;;
  esac
done
[ -n "$image" ] || { echo "usage: devrun.sh OUT.uni [--log F] [--initrd F] [-- CMDLINE...]" >&2; exit 2; }

print_log=0
if [ -z "$log" ]; then
  log="$(mktemp)"; print_log=1
  trap 'rm -f "$log"' EXIT
fi
: > "$log"

if ((have_args)); then
  cmdline+=("d2u.cmd=$( ( for a in "${cmdargs[@]}"; do printf '%s\0' "$a"; done ) | head -c -1 | base64 -w0)")
fi
cmdline+=("epoch=$(date +%s)" "seed=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')")

qemu=(qemu-system-x86_64 -M microvm,x-option-roms=off -accel "$accel" -cpu "$cpu" -m "$mem"
      -nodefaults -no-user-config -nographic -no-reboot
      -chardev stdio,id=com1 -serial chardev:com1
      -chardev file,id=com2,path="$log" -device isa-serial,chardev=com2,iobase=0x2f8,irq=3
      -device isa-debug-exit,iobase=0xf4,iosize=4
      -kernel "$image" -append "${cmdline[*]}")
[ -z "$initrd" ] || qemu+=(-initrd "$initrd")
qemu+=("${extra[@]}")

timeout --foreground -k 2 "$timeout_s" "${qemu[@]}"
status=$?
((print_log)) && cat "$log" >&2

if ((status == 124)); then
  echo "devrun.sh: guest stopped after ${timeout_s}s" >&2
  exit 124
fi
marker="$(grep -a -E '^D2U:(EXIT|EXECFAIL|CRASH|PANIC)' "$log" | tail -1)"
case "$marker" in
  D2U:EXIT*) code="${marker#*code=}"; exit "${code%% *}" ;;
  D2U:EXECFAIL*errno=2\ *) exit 127 ;;
  D2U:EXECFAIL*) exit 126 ;;
  D2U:CRASH*) sig="${marker#*signal=}"; exit $((128 + ${sig%% *})) ;;
  *) echo "devrun.sh: no exit marker (QEMU status $status)" >&2; exit 125 ;;
esac
