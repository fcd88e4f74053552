#!/bin/sh
# lwip-fetch.sh: fetch Debian's lwip source package into a build cache, check it against the pinned sha256 values, unpack it.
#
#   lwip-fetch.sh CACHE_DIR SHA256_FILE
#
# lwIP is never copied into the repository (docs/networking.md): apt's source
# mechanism downloads lwip 2.1.3+dfsg1-2 from the Debian archive the system already
# uses, with a private deb-src list and private state under CACHE_DIR, so the system's
# apt configuration is untouched and no root is needed. Every downloaded file must
# match SHA256_FILE (the .dsc and both tarballs) before dpkg-source unpacks it; a
# mismatch stops the build. Debian's patches are skipped: they adapt lwIP's Unix port,
# socket API and PPP, none of which the library OS compiles, so the tree is lwIP 2.1.3.
# The result is CACHE_DIR/src (lwIP's top directory) and CACHE_DIR/src/.d2u-ok, which
# holds the SHA256_FILE it was checked against: CACHE_DIR may be shared by several
# checkouts (scripts/setup.sh), so freshness is that content, not a file time, and a
# lock keeps two builds from unpacking it at once.
set -eu
cache=$1
sums=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
version=2.1.3+dfsg1-2
fresh() { cmp -s "$cache/src/.d2u-ok" "$sums"; }
fresh && exit 0

mkdir -p "$cache/dl" "$cache/lists/partial" "$cache/apt-cache/archives/partial"
cache=$(cd "$cache" && pwd)
exec 9>"$cache/.lock"
flock 9
fresh && exit 0 # unpacked by another build while this one waited
srclist=$cache/deb-src.sources
# The system's Debian entries, as source entries (deb822 or one-line format).
: > "$srclist.tmp"
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types:.*$/Types: deb-src/' "$f" >> "$srclist.tmp" && echo >> "$srclist.tmp"
done
if [ -s "$srclist.tmp" ]; then
    mv "$srclist.tmp" "$srclist"
    opt_list=Dir::Etc::SourceList=/dev/null
    opt_parts=Dir::Etc::SourceParts=$cache/parts
    mkdir -p "$cache/parts" && mv "$srclist" "$cache/parts/debian.sources"
else
    rm -f "$srclist.tmp"
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
        sed -n 's/^deb \(.*\)$/deb-src \1/p' > "$cache/deb-src.list"
    opt_list=Dir::Etc::SourceList=$cache/deb-src.list
    opt_parts=Dir::Etc::SourceParts=/dev/null
fi
apt_opts="-o $opt_list -o $opt_parts -o Dir::State::Lists=$cache/lists \
 -o Dir::Cache=$cache/apt-cache -o Debug::NoLocking=1 -o APT::Sandbox::User=$(id -un)"

cd "$cache/dl"
if ! sha256sum --quiet -c "$sums" >/dev/null 2>&1; then
    echo "lwip-fetch: downloading Debian source package lwip=$version" >&2
    # shellcheck disable=SC2086
    apt-get -qq $apt_opts update >&2 ||
        { echo "lwip-fetch: error: apt-get update failed (no network or no Debian archive?)" >&2; exit 1; }
    # shellcheck disable=SC2086
    apt-get -qq $apt_opts source --download-only "lwip=$version" >&2 ||
        { echo "lwip-fetch: error: apt-get source lwip=$version failed" >&2; exit 1; }
fi
if ! sha256sum --quiet -c "$sums" >&2; then
    echo "lwip-fetch: error: the downloaded lwip files do not match $sums; refusing to build with them" >&2
    exit 1
fi
rm -rf "$cache/src"
# The .dsc's OpenPGP signature cannot be checked without Debian's keyring for source
# uploaders; the pinned sha256 values above are the check.
dpkg-source --no-check --skip-patches -x "lwip_$version.dsc" "$cache/src" >/dev/null ||
    { echo "lwip-fetch: error: dpkg-source could not unpack lwip_$version.dsc" >&2; exit 1; }
rm -rf "$cache/lists" "$cache/apt-cache" "$cache/parts" # indexes: megabytes, needed once
cp "$sums" "$cache/src/.d2u-ok"
