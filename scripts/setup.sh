#!/usr/bin/env bash
# setup.sh: install what dock2uni needs, idempotently (apt packages, .venv with the package).
# Safe to run again: it only installs what is missing and reinstalls the venv when
# pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  gcc g++ binutils make libc6-dev linux-libc-dev musl-tools  # toolchain: libos, guest programs; g++: audit tests
  qemu-system-x86                                         # boots the unikernels
  docker.io docker-registry skopeo umoci                  # real daemon, registry, reference tools
  containerd                                              # ctr and the runc v2 shim: OCI runtime tests
  debootstrap busybox-static cpio zstd lz4                # fixtures; lz4: the Linux peer of bench/
  strace apache2-utils dpkg-dev                           # audit traces, htpasswd, apt source
  time                                                    # benchmarks: peak RSS (/usr/bin/time)
  golang-go                                               # fixtures: the go-hello static Go binary
  wrk redis-tools                                         # networking tests and bench/net_serve.py (ab: apache2-utils)
  python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=".venv/.dock2uni-setup"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: preparing .venv"
  python3 -m venv .venv
  # grep drops this machine's notes about absent local package mirrors, nothing else
  { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e '.[dev]'; } 2>&1 |
    { grep -v "^WARNING: Location 'file://" || true; }
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "setup: pip install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
