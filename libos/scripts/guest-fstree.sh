#!/bin/sh
# guest-fstree.sh: create the fixture trees the fs and fswrite guest tests use: guest-fstree.sh DIR (DIR/fstree and DIR/fswtree are made).
# The fs test looks for "fstree" next to its own executable (or takes the path as argv[1]).
set -eu
dir=${1:?usage: guest-fstree.sh DIR}
t="$dir/fstree"
rm -rf "$t"
mkdir -p "$t/sub/deeper"
printf 'hello fstree\n' > "$t/file.txt"
: > "$t/empty"
chmod 0755 "$t/empty"
printf 'inner\n' > "$t/sub/inner.txt"
printf 'leaf\n' > "$t/sub/deeper/leaf"
printf 'hard\n' > "$t/hard1"
ln "$t/hard1" "$t/hard2"
ln -s file.txt "$t/link-rel"
ln -s sub "$t/link-dir"
ln -s ../fstree/file.txt "$t/link-up"
ln -s link-rel "$t/link-chain"
ln -s link-loop "$t/link-loop"
ln -s does-not-exist "$t/link-dangling"
# Fixed mtimes so stat results do not depend on when the tree was made.
find "$t" -exec touch -h -d '2024-01-02 03:04:05 UTC' {} +

# The fswrite test's image files: it writes, renames and removes them, then puts them back.
w="$dir/fswtree"
rm -rf "$w"
mkdir -p "$w/imgdir"
printf 'image bytes\n' > "$w/img.txt"
head -c 10000 /dev/zero | tr '\0' 'a' > "$w/big.bin"
printf 'a\n' > "$w/imgdir/a"
printf 'b\n' > "$w/imgdir/b"
