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

# Downloads shared by every checkout on this machine (a second clone, CI's fresh clone, a
# worktree): the fixture store (Debian trees, .debs, built images; each fixture is keyed by
# its inputs, docs/fixtures.md) and lwIP's source package (checked against its pinned
# sha256). build/NAME becomes a link into the shared cache unless it already exists, so a
# new checkout neither downloads them again nor needs the network when they are there.
# DOCK2UNI_SHARED_CACHE=off keeps them under build/ only.
shared="${DOCK2UNI_SHARED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dock2uni/shared}"
if [ "$shared" != off ]; then
  mkdir -p build
  for d in fixtures lwip; do
    if [ ! -e "build/$d" ] && [ ! -L "build/$d" ]; then
      mkdir -p "$shared/$d" && ln -s "$shared/$d" "build/$d"
    fi
  done
fi

# The wheels of the last good install, so a new .venv can be made while PyPI is
# unreachable: pip's own cache keeps no index pages, and lief and capstone are not in
# every local mirror. Only wheels missing from it are downloaded.
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/dock2uni/wheels"
keep_wheels() {
  local missing
  mkdir -p "$wheels"
  # the frozen requirements (and the build backend) with no wheel or sdist of that version kept
  missing="$(.venv/bin/pip freeze --exclude-editable 2>/dev/null | .venv/bin/python -c '
import re, sys, os
norm = lambda n: re.sub(r"[-_.]+", "_", n).lower()
have = {tuple(norm(x) for x in f.split("-")[:2]) for f in os.listdir(sys.argv[1])}
reqs = [l.strip() for l in sys.stdin if "==" in l]
print("\n".join(r for r in reqs if tuple(norm(x) for x in r.split("==")) not in have))
if not any(n == "setuptools" for n, _ in have):
    print("setuptools>=77")
' "$wheels")"
  [ -n "$missing" ] || return 0
  # shellcheck disable=SC2086
  .venv/bin/pip download -q --no-deps -d "$wheels" $missing >/dev/null 2>&1 ||
    echo "setup: note: could not keep the wheels for an offline .venv" >&2
}

stamp=".venv/.dock2uni-setup"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: preparing .venv"
  python3 -m venv .venv
  # grep drops this machine's notes about absent local package mirrors, nothing else
  quiet() { "$@" 2>&1 | { grep -v -e "^WARNING: Location 'file://" -e "^WARNING: Retrying" || true; }; return "${PIPESTATUS[0]}"; }
  # pip retries an unreachable index for minutes; a few seconds tell whether to bother
  index_host="$(.venv/bin/pip config get global.index-url 2>/dev/null | sed -n 's#^[a-z]*://\([^/:]*\).*#\1#p' || true)"
  online() { timeout 10 .venv/bin/python -c 'import socket, sys; socket.create_connection((sys.argv[1], 443), 8).close()' "${index_host:-pypi.org}" 2>/dev/null; }
  from_kept() {
    echo "setup: PyPI is unreachable; installing from the kept wheels ($wheels)" >&2
    quiet .venv/bin/pip install -q --no-index --find-links "$wheels" -e '.[dev]'
  }
  if [ -d "$wheels" ] && ! online; then
    from_kept || { echo "setup: pip install failed" >&2; exit 1; }
  elif quiet .venv/bin/pip install -q --upgrade pip && quiet .venv/bin/pip install -q -e '.[dev]'; then
    keep_wheels
  elif [ -d "$wheels" ] && from_kept; then
    :
  else
    echo "setup: pip install failed" >&2; exit 1
  fi
  echo "$want" > "$stamp"
fi
