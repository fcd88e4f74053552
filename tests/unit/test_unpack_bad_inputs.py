"""Bad-input catalogue for the unpack stage (oci-and-security.md §13 items 21-28).

Every case ends in its specific error class and exit code (or in a correct, contained
tree), and nothing is written anywhere but the test's cache directory: the working
directory is a sandbox whose contents are compared before and after, a sentinel file
beside it must stay untouched, and the cache may only hold hash-named store files and
changesets.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures import ocibuild as ob
from fixtures.ocibuild import Entry

from dock2uni.context import Context, Limits
from dock2uni.errors import (
    Dock2UniError,
    IntegrityError,
    LimitExceededError,
    UnsafeLayerError,
    UnsupportedImageError,
)
from dock2uni.fs.store import read_pack_index
from dock2uni.fs.tree import DeviceNode, FifoNode, FileNode, SymlinkNode
from dock2uni.model import Layer
from dock2uni.unpack import UnpackedImage, unpack
from tests.infra.growth import assert_subquadratic
from tests.unit.test_tarstream import END, fix_checksum, header, pax_header, pax_record
from tests.unit.test_unpack import acquired, blob_layer, content, listing, node, tar_layer

MiB = 1 << 20
STORE_FILE = re.compile(r"files/sha256/[0-9a-f]{2}/[0-9a-f]{64}|files/packs/[0-9a-f]{32}\.pack")
CHANGESET = re.compile(r"layers/sha256-[0-9a-f]{64}_sha256-[0-9a-f]{64}\.jsonl")


@dataclass
class Sandbox:
    """A tmp tree: cwd three levels deep (so '../../x' would still land inside), a
    sentinel outside it, and the cache. ``run`` unpacks and checks containment."""

    root: Path
    cache: Path
    sentinel: Path

    def context(self, **limits: int) -> Context:
        return Context(cache_dir=self.cache, limits=Limits(**limits), quiet=True)

    def snapshot(self) -> dict[str, tuple[int, int, float]]:
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                if path == self.cache or self.cache in path.parents:
                    continue
                st = path.lstat()
                out[str(path.relative_to(self.root))] = (st.st_mode, st.st_size, st.st_mtime)
        return out

    def check_contained(self, before: dict[str, tuple[int, int, float]]) -> None:
        assert self.snapshot() == before, "unpack wrote outside its cache"
        assert self.sentinel.read_bytes() == b"do not touch"
        for path in self.cache.rglob("*"):
            rel = str(path.relative_to(self.cache))
            if path.is_dir():
                assert rel in (
                    "files",
                    "files/sha256",
                    "files/tmp",
                    "files/packs",
                    "layers",
                ) or re.fullmatch(r"files/sha256/[0-9a-f]{2}", rel), rel
                continue
            assert path.is_file() and not path.is_symlink(), rel
            assert STORE_FILE.fullmatch(rel) or CHANGESET.fullmatch(rel), rel

    def run(self, layers: list[Layer], **limits: int) -> UnpackedImage:
        before = self.snapshot()
        try:
            return unpack(acquired(layers), self.context(**limits))
        finally:
            self.check_contained(before)

    def fails(
        self, layers: list[Layer], error: type[Dock2UniError], match: str, **limits: int
    ) -> Dock2UniError:
        with pytest.raises(error, match=match) as info:
            self.run(layers, **limits)
        assert type(info.value) is error
        assert info.value.exit_code == error.exit_code
        assert info.value.hint
        return info.value


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox with the process's cwd inside it."""
    work = tmp_path / "work" / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    sentinel = tmp_path / "outside" / "victim"
    sentinel.write_bytes(b"do not touch")
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.chdir(work)
    yield Sandbox(root=tmp_path, cache=cache, sentinel=sentinel)


def layers(*built: ob.Layer, compression: str = "gzip") -> list[Layer]:
    return [tar_layer(layer.tar_bytes(), compression) for layer in built]


def raw_tar(*blocks: bytes) -> bytes:
    return b"".join(blocks) + END


def file_block(name: bytes, data: bytes = b"") -> bytes:
    return header(name, b"0", len(data)) + data + b"\0" * (-len(data) % 512)


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../etc/x", "./../x", "a/../../x", "../outside/victim"])
def test_names_climbing_above_the_root_are_refused(box: Sandbox, name: str) -> None:
    """'..' that would leave the image root is an UnsafeLayerError, never a host write."""
    box.fails(layers(ob.Layer().file(name, "pwned")), UnsafeLayerError, "outside the image root")


def test_absolute_names_are_contained(box: Sandbox) -> None:
    """'/etc/x' is stripped to 'etc/x' inside the image."""
    result = box.run(layers(ob.Layer().file("/etc/dock2uni-test-x", "inside")))
    assert content(result, "/etc/dock2uni-test-x") == b"inside"
    assert not Path("/etc/dock2uni-test-x").exists()


def test_5000_char_pax_name_hits_the_path_limit(box: Sandbox) -> None:
    """A PAX path longer than PATH_MAX is a LimitExceededError."""
    name = "/".join(["n" * 200] * 25)
    box.fails(layers(ob.Layer().file(name, "x")), LimitExceededError, "bytes long")


def test_1000_deep_directories_hit_the_depth_limit(box: Sandbox) -> None:
    """1,000 nested directories exceed max_path_depth."""
    box.fails(layers(ob.Layer().file("/".join(["d"] * 1000), "x")), LimitExceededError, "deep")


def test_overlong_component_hits_the_name_limit(box: Sandbox) -> None:
    """A single name over NAME_MAX (255 bytes) is a LimitExceededError."""
    box.fails(layers(ob.Layer().file("n" * 300, "x")), LimitExceededError, "component")


def test_nul_in_name_is_refused(box: Sandbox) -> None:
    """A NUL byte smuggled into a PAX path is refused."""
    tar = raw_tar(pax_header(b"12 path=a\0b\n"), file_block(b"ignored"))
    box.fails([tar_layer(tar)], UnsafeLayerError, "NUL")


def test_empty_name_is_refused(box: Sandbox) -> None:
    """An entry whose name is empty is refused."""
    box.fails([tar_layer(raw_tar(file_block(b"")))], UnsafeLayerError, "empty name")


def test_uid_above_32_bits_is_refused(box: Sandbox) -> None:
    """uid 2^32 (via PAX) cannot be represented on Linux: refused."""
    tar = raw_tar(pax_header(pax_record("uid", str(1 << 32))), file_block(b"f"))
    box.fails([tar_layer(tar)], UnsafeLayerError, "above 2")


def test_max_uid_and_special_bits_are_kept(box: Sandbox) -> None:
    """uid 2^32-1 and setuid/setgid/sticky bits are recorded as given."""
    layer = ob.Layer().file("f", "x", mode=0o7755, uid=(1 << 32) - 1, gid=(1 << 32) - 1)
    f = node(box.run(layers(layer)), "/f")
    assert (f.mode, f.uid, f.gid) == (0o7755, (1 << 32) - 1, (1 << 32) - 1)


# -- compression -------------------------------------------------------------------------


def _zero_bomb(total: int) -> bytes:
    """A single gzip member inflating to ``total`` zero bytes (an empty tar, then padding)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    parts = [comp.compress(zeros) for _ in range(total // MiB)]
    parts.append(comp.flush())
    return b"".join(parts)


def test_gzip_bomb_stops_at_the_layer_cap(box: Sandbox) -> None:
    """6.4 GiB of zeros (32 gzip members of 200 MiB) against a 1 MiB layer cap stops early,
    with LimitExceededError. "Early" is counted in compressed bytes read, not in seconds
    (timing is bench/'s); the blob is larger than one read so the count can show it."""
    blob = _zero_bomb(200 * MiB) * 32
    reads: list[int] = []
    box.fails(
        [blob_layer(blob, ob.sha256(b"unknown"), reads=reads)],
        LimitExceededError,
        "decompresses to more than",
        max_layer_bytes=MiB,
        max_blob_bytes=1 << 30,
    )
    assert reads[0] < len(blob) // 4


def test_multi_gigabyte_bomb_reads_only_a_little_of_the_blob(box: Sandbox) -> None:
    """A 16 GiB multi-member bomb: the cap trips after reading a fraction of the blob."""
    member = zlib.compressobj(9, zlib.DEFLATED, 31)
    one = member.compress(bytes(16 * MiB)) + member.flush()
    blob = one * 1024  # 16 GiB when inflated
    reads: list[int] = []
    box.fails(
        [blob_layer(blob, ob.sha256(b"unknown"), reads=reads)],
        LimitExceededError,
        "decompresses",
        max_layer_bytes=8 * MiB,
    )
    assert reads[0] < len(blob) // 4  # read counts, not seconds, show it stopped early


def test_image_cap_spans_layers(box: Sandbox) -> None:
    """Two layers that each fit the layer cap but not the image cap together."""
    tar = ob.Layer().file("a", bytes(600 * 1024)).tar_bytes()
    box.fails(
        [tar_layer(tar), tar_layer(tar)], LimitExceededError, "image's layers", max_image_bytes=MiB
    )


def test_zstd_frame_with_huge_window_is_refused(box: Sandbox) -> None:
    """A zstd frame declaring a 2 GiB window exceeds max_zstd_window."""
    frame = bytes.fromhex("28b52ffd") + bytes([0x00, 21 << 3]) + bytes([0x29, 0, 0]) + b"hello"
    box.fails(
        [blob_layer(frame, ob.sha256(b"hello"), media_type=ob.LAYER_TYPES["zstd"])],
        LimitExceededError,
        "window",
    )


def test_truncated_gzip_is_an_integrity_error(box: Sandbox) -> None:
    """A gzip stream cut short (its own digest matching the cut bytes) is corrupt."""
    tar = ob.Layer().file("a", os.urandom(50_000)).tar_bytes()
    blob = ob.compress(tar, "gzip")[:-1000]
    box.fails([blob_layer(blob, ob.sha256(tar))], IntegrityError, "truncated")


def test_truncated_zstd_is_an_integrity_error(box: Sandbox) -> None:
    """zstandard does not notice a cut frame by itself; we do."""
    tar = ob.Layer().file("a", os.urandom(50_000)).tar_bytes()
    blob = ob.compress(tar, "zstd")[:-1000]
    box.fails(
        [blob_layer(blob, ob.sha256(tar), media_type=ob.LAYER_TYPES["zstd"])],
        IntegrityError,
        "truncated",
    )


@pytest.mark.parametrize("actual", ["zstd", "tar"])
def test_mislabelled_layers_are_read_by_their_magic(box: Sandbox, actual: str) -> None:
    """Labelled gzip but really zstd (containerd#14190) or plain tar: works, reported as such."""
    tar = ob.Layer().file("a", "a").tar_bytes()
    result = box.run([tar_layer(tar, actual, label="gzip")])
    assert result.layers[0].compression == actual
    assert content(result, "/a") == b"a"


def test_wrong_diff_id_is_an_integrity_error(box: Sandbox) -> None:
    """The uncompressed tar must hash to the config's diff_id."""
    tar = ob.Layer().file("a", "a").tar_bytes()
    blob = ob.compress(tar, "gzip")
    box.fails([blob_layer(blob, ob.sha256(tar + b"x"))], IntegrityError, "diff_id")


def test_wrong_blob_digest_is_an_integrity_error(box: Sandbox) -> None:
    """Bytes that do not match the descriptor's digest are refused at EOF."""
    tar = ob.Layer().file("a", "a").tar_bytes()
    blob = ob.compress(tar, "gzip")
    wrong = blob_layer(blob, ob.sha256(tar), digest=ob.sha256(b"other"))
    box.fails([wrong], IntegrityError, "digest")


def test_corrupt_blob_reports_the_digest_not_the_tar(box: Sandbox) -> None:
    """A blob damaged in transit shows as a digest mismatch even if its tar breaks first."""
    tar = ob.Layer().file("a", os.urandom(20_000)).tar_bytes()
    good = ob.compress(tar, "tar")
    damaged = good[:100] + b"X" + good[101:]  # breaks the first header's checksum
    layer = blob_layer(
        damaged, ob.sha256(tar), digest=ob.sha256(good), media_type=ob.LAYER_TYPES["tar"]
    )
    error = box.fails([layer], IntegrityError, "digest")
    assert isinstance(error.__context__, UnsafeLayerError)


def test_trailing_nuls_after_gzip_are_accepted(box: Sandbox) -> None:
    """NUL padding after the gzip stream (some generators add it) is read and ignored."""
    tar = ob.Layer().file("a", "a").tar_bytes()
    blob = ob.compress(tar, "gzip") + bytes(4096)
    assert content(box.run([blob_layer(blob, ob.sha256(tar))]), "/a") == b"a"


def test_garbage_after_gzip_is_refused(box: Sandbox) -> None:
    """Non-padding bytes after the last gzip member are corruption."""
    tar = ob.Layer().file("a", "a").tar_bytes()
    blob = ob.compress(tar, "gzip") + b"garbage"
    box.fails([blob_layer(blob, ob.sha256(tar))], IntegrityError, "neither gzip nor padding")


def test_multi_member_gzip_is_read_whole(box: Sandbox) -> None:
    """A tar split over several gzip members (pigz, concatenation) reads as one stream."""
    tar = ob.Layer().file("a", "a" * 5000).file("b", "b").tar_bytes()
    blob = ob.compress(tar[:3000], "gzip") + ob.compress(tar[3000:], "gzip")
    result = box.run([blob_layer(blob, ob.sha256(tar))])
    assert content(result, "/a") == b"a" * 5000
    assert content(result, "/b") == b"b"


def test_bzip2_layers_are_unsupported(box: Sandbox) -> None:
    """bzip2 is not an OCI layer compression."""
    bzip2 = blob_layer(b"BZh91AY&SY" + bytes(600), ob.sha256(b""))
    box.fails([bzip2], UnsupportedImageError, "bzip2")


def test_random_bytes_are_not_a_layer(box: Sandbox) -> None:
    """A blob that is neither gzip, zstd nor tar is refused."""
    box.fails([blob_layer(b"\x01" * 2048, ob.sha256(b""))], UnsafeLayerError, "neither a tar")


# -- tar structure -----------------------------------------------------------------------


def test_gnu_sparse_files_are_refused(box: Sandbox) -> None:
    """GNU sparse members (type 'S') are refused."""
    box.fails([tar_layer(raw_tar(header(b"sparse", b"S")))], UnsafeLayerError, "sparse")


def test_zero_length_pax_record_is_refused(box: Sandbox) -> None:
    """A PAX record of length 0 (CVE-2019-20907's infinite loop) is refused at once."""
    tar = raw_tar(pax_header(b"0 \n"), file_block(b"f"))
    box.fails([tar_layer(tar)], UnsafeLayerError, "length 0")


def test_negative_size_is_refused(box: Sandbox) -> None:
    """A negative base-256 size (CVE-2025-8194 class) is refused."""
    tar = raw_tar(header(b"f", b"0", 0, size=b"\xff" * 12))
    box.fails([tar_layer(tar)], UnsafeLayerError, "negative size")


def test_huge_declared_size_is_refused_before_reading(box: Sandbox) -> None:
    """A header declaring more bytes than the layer cap fails at the header."""
    block = bytearray(header(b"f"))
    block[124:136] = b"\x80" + (1 << 60).to_bytes(11, "big")
    tar = raw_tar(bytes(fix_checksum(block)))
    box.fails([tar_layer(tar)], LimitExceededError, "declares")


def test_pathological_pax_headers_are_linear(box: Sandbox) -> None:
    """Thousands of tiny PAX records (CVE-2024-6232 ReDoS shape) parse in linear time:
    8x the records take well under 8**1.5x the time (tests/infra/growth.py)."""

    def make(n: int) -> Callable[[], object]:
        records = b"".join(pax_record("comment", "x" * (i % 7)) for i in range(n))
        assert len(records) < MiB
        tar = raw_tar(pax_header(records), file_block(b"f"))
        return lambda: box.run([tar_layer(tar)])

    assert_subquadratic(make, 7_500, 8)


def test_unknown_typeflag_is_refused(box: Sandbox) -> None:
    """Volume labels, multi-volume and other non-file typeflags are refused."""
    box.fails([tar_layer(raw_tar(header(b"vol", b"V")))], UnsafeLayerError, "type flag")


def test_entry_count_limit(box: Sandbox) -> None:
    """More entries than max_entries over all layers is a LimitExceededError."""
    many = ob.Layer()
    for i in range(30):
        many.file(f"f{i}", "")
    box.fails(layers(many, many), LimitExceededError, "tar entries", max_entries=50)


def test_10k_tiny_entries_unpack(box: Sandbox) -> None:
    """Ten thousand empty files are fine and share one stored (empty) content."""
    block = file_block(b"x")
    tar = b"".join(header(b"f%d" % i, b"0", 0) for i in range(10_000)) + block + END
    result = box.run([tar_layer(tar)])
    assert result.layers[0].entries == 10_001
    assert not list((box.cache / "files" / "sha256").iterdir())  # no loose files
    (pack,) = (box.cache / "files" / "packs").iterdir()
    assert len(read_pack_index(str(pack))) == 1  # the empty content, once


# -- symlinks ----------------------------------------------------------------------------


def test_absolute_symlink_to_its_own_name_loops(box: Sandbox) -> None:
    """'etc -> /etc' then 'etc/passwd': resolving inside the image loops (ELOOP)."""
    layer = ob.Layer().symlink("etc", "/etc").file("etc/passwd", "root::0:0")
    box.fails(layers(layer), UnsafeLayerError, "loops through symlinks")


def test_relative_symlink_climbing_out_is_contained(box: Sandbox) -> None:
    """'x -> ../../..' then 'x/passwd' lands at the image root, not on the host."""
    layer = ob.Layer().symlink("x", "../../..").file("x/dock2uni-passwd", "inside")
    result = box.run(layers(layer))
    assert content(result, "/dock2uni-passwd") == b"inside"


def test_symlink_chain_of_41_hops_is_refused_and_40_allowed(box: Sandbox) -> None:
    """Linux follows at most 40 symlinks; so do we."""

    def chain(hops: int) -> ob.Layer:
        layer = ob.Layer().dir("real")
        for i in range(hops - 1):
            layer.symlink(f"l{i}", f"l{i + 1}")
        layer.symlink(f"l{hops - 1}", "real")
        return layer.file("l0/f", "x")

    result = box.run(layers(chain(40)))
    assert content(result, "/real/f") == b"x"
    box.fails(layers(chain(41)), UnsafeLayerError, "loops through symlinks")


def test_symlink_loop_between_two_links(box: Sandbox) -> None:
    """a -> b, b -> a, then a/x: ELOOP."""
    layer = ob.Layer().symlink("a", "b").symlink("b", "a").file("a/x", "x")
    box.fails(layers(layer), UnsafeLayerError, "loops")


def test_symlink_from_lower_layer_written_through_is_contained(box: Sandbox) -> None:
    """Layer 1 plants 'evil -> ../../../outside'; layer 2 writes evil/victim (CVE-2025-45582)."""
    lower = ob.Layer().symlink("evil", "../../../outside")
    upper = ob.Layer().file("evil/victim", "pwned")
    result = box.run(layers(lower, upper))
    assert content(result, "/outside/victim") == b"pwned"
    assert listing(result.tree)["/evil"] == "symlink:../../../outside"


def test_root_symlink_is_refused(box: Sandbox) -> None:
    """A symlink entry for '.' (CVE-2021-29136) cannot change the root's type."""
    box.fails(layers(ob.Layer().symlink(".", "/tmp")), UnsafeLayerError, "root directory")


def test_root_as_a_file_is_refused(box: Sandbox) -> None:
    """A regular file (or hardlink) named '/' cannot replace the root."""
    tar = raw_tar(file_block(b"/", b"x"))
    box.fails([tar_layer(tar)], UnsafeLayerError, "root directory")


def test_symlink_target_over_path_max_is_refused(box: Sandbox) -> None:
    """symlink(2) refuses targets of PATH_MAX bytes or more; so do we."""
    layer = ob.Layer().symlink("l", "t/" * 2100)
    box.fails(layers(layer), LimitExceededError, "target")


def test_deep_resolution_through_symlinks_is_capped(box: Sandbox) -> None:
    """Symlinks that expand a short name past the depth limit are a LimitExceededError."""
    layer = ob.Layer().symlink("a", "/".join(["d"] * 200))
    layer.file("a/" + "/".join(["e"] * 100) + "/f", "x")  # 102 deep as written, 301 resolved
    box.fails(layers(layer), LimitExceededError, "resolves")


def test_entry_below_a_file_is_refused(box: Sandbox) -> None:
    """'f' is a file, then 'f/x': the parent is not a directory."""
    layer = ob.Layer().file("f", "x").file("f/x", "y")
    box.fails(layers(layer), UnsafeLayerError, "not a directory")


# -- hardlinks ---------------------------------------------------------------------------


def test_hardlink_to_outside_is_refused(box: Sandbox) -> None:
    """A hardlink target with '..' climbing out of the root is refused."""
    layer = ob.Layer().hardlink("h", "../outside/victim").file("h", "overwrite")
    box.fails(layers(layer), UnsafeLayerError, "outside the image root")


def test_hardlink_to_absolute_path_stays_in_the_image(box: Sandbox) -> None:
    """'/etc/passwd' as a hardlink target means the image's /etc/passwd."""
    layer = ob.Layer().file("etc/passwd", "image").hardlink("h", "/etc/passwd").file("h", "new")
    result = box.run(layers(layer))
    assert content(result, "/etc/passwd") == b"image"
    assert content(result, "/h") == b"new"


def test_hardlink_to_absolute_host_path_missing_in_image(box: Sandbox) -> None:
    """An absolute target that exists only on the host is 'nonexistent' inside the image."""
    layer = ob.Layer().hardlink("h", str(box.sentinel))
    box.fails(layers(layer), UnsafeLayerError, "does not exist")


def test_hardlink_to_nonexistent_is_refused(box: Sandbox) -> None:
    """A hardlink must point at something already in the image."""
    box.fails(layers(ob.Layer().hardlink("h", "nope")), UnsafeLayerError, "does not exist")


def test_hardlink_to_a_directory_is_refused(box: Sandbox) -> None:
    """Directories cannot be hardlinked."""
    layer = ob.Layer().dir("d").hardlink("h", "d")
    box.fails(layers(layer), UnsafeLayerError, "is a directory")


def test_hardlink_to_root_is_refused(box: Sandbox) -> None:
    """A hardlink whose target is the root directory is refused."""
    box.fails(layers(ob.Layer().hardlink("h", "/")), UnsafeLayerError, "root directory")


def test_hardlink_then_file_of_same_name_keeps_target(box: Sandbox) -> None:
    """The 3.11.7 tarfile write-through: 'h -> x' then a file 'h' must not change x."""
    lower = ob.Layer().file("x", "precious")
    upper = ob.Layer().hardlink("h", "x").file("h", "attacker")
    result = box.run(layers(lower, upper))
    assert content(result, "/x") == b"precious"
    assert content(result, "/h") == b"attacker"


def test_hardlink_through_symlinked_parent_stays_inside(box: Sandbox) -> None:
    """A target whose parent is an escaping symlink is resolved inside the image."""
    lower = ob.Layer().symlink("up", "../../..").file("victim", "image file")
    upper = ob.Layer().hardlink("h", "up/victim")
    result = box.run(layers(lower, upper))
    assert node(result, "/h") is node(result, "/victim")


# -- devices -----------------------------------------------------------------------------


def test_devices_and_fifos_are_recorded_not_created(box: Sandbox) -> None:
    """Device nodes and FIFOs become tree nodes; no special file appears on disk."""
    layer = ob.Layer().device("dev/kmem", major=1, minor=2).device("dev/sda", block=True)
    layer.fifo("run/pipe")
    result = box.run(layers(layer))
    kmem = node(result, "/dev/kmem")
    assert isinstance(kmem, DeviceNode) and (kmem.major, kmem.minor) == (1, 2)
    assert isinstance(node(result, "/run/pipe"), FifoNode)
    for path in box.root.rglob("*"):
        assert path.is_dir() or path.is_file(), path


def test_security_xattrs_are_recorded(box: Sandbox) -> None:
    """security.capability and trusted.* xattrs are recorded on the node, never applied."""
    entry = Entry(
        "ping",
        "file",
        data=b"\x7fELF",
        pax={"SCHILY.xattr.security.capability": "\x01\x02", "SCHILY.xattr.trusted.x": "y"},
    )
    result = box.run(layers(ob.Layer().add(entry)))
    assert node(result, "/ping").xattrs == {"security.capability": b"\x01\x02", "trusted.x": b"y"}


# -- whiteouts ---------------------------------------------------------------------------


def test_whiteout_with_empty_name_is_refused(box: Sandbox) -> None:
    """'.wh.' names nothing (umoci refuses it too)."""
    box.fails(layers(ob.Layer().file("d/.wh.", b"")), UnsafeLayerError, "names nothing")


@pytest.mark.parametrize("name", [".wh..", ".wh..."])
def test_whiteout_of_dot_or_dotdot_is_refused(box: Sandbox, name: str) -> None:
    """Whiteouts of '.' or '..' would delete the directory itself or its parent."""
    box.fails(layers(ob.Layer().file(f"d/{name}", b"")), UnsafeLayerError, "whiteout")


def test_whiteout_directory_is_refused(box: Sandbox) -> None:
    """A '.wh.x' directory (or anything inside one) is malformed."""
    box.fails(layers(ob.Layer().dir("a/.wh.x")), UnsafeLayerError, "is a directory")
    box.fails(layers(ob.Layer().file("a/.wh.x/f", "x")), UnsafeLayerError, "inside a whiteout")


def test_non_empty_whiteout_is_refused(box: Sandbox) -> None:
    """A whiteout must be empty."""
    box.fails(layers(ob.Layer().file("a/.wh.x", "data")), UnsafeLayerError, "has content")


@pytest.mark.slow
def test_opaque_whiteouts_100k_are_linear(box: Sandbox) -> None:
    """10^5 opaque markers over a 2,000-entry directory: right, and no O(n^2) (8x the
    markers take well under 8**1.5x the time, tests/infra/growth.py)."""
    lower = ob.Layer()
    for i in range(2000):
        lower.file(f"d/lower{i}", "")
    marker = file_block(b"d/.wh..wh..opq")

    def make(n: int) -> Callable[[], object]:
        upper = file_block(b"d/new", b"n") + marker * n
        return lambda: box.run([tar_layer(lower.tar_bytes()), tar_layer(upper + END)])

    assert_subquadratic(make, 12_500, 8)
    result = make(100_000)()
    assert isinstance(result, UnpackedImage)
    assert listing(result.tree) == {"/": "dir", "/d": "dir", "/d/new": "file"}


@pytest.mark.slow
def test_whiteouts_of_100k_distinct_paths_are_linear(box: Sandbox) -> None:
    """10^5 whiteouts in 100 touched directories of 1,000 lower entries each: right, and
    linear (8x the paths take well under 8**1.5x the time, tests/infra/growth.py)."""

    def make(n: int) -> Callable[[], object]:
        lower = b"".join(header(b"d%d/f%d" % (i % 100, i), b"0", 0) for i in range(n))
        upper = b"".join(file_block(b"d%d/new" % i) for i in range(100))
        upper += b"".join(file_block(b"d%d/.wh.f%d" % (i % 100, i)) for i in range(n))
        return lambda: box.run([tar_layer(lower + END), tar_layer(upper + END)])

    assert_subquadratic(make, 12_500, 8)
    result = make(100_000)()
    assert isinstance(result, UnpackedImage)
    assert len(listing(result.tree)) == 1 + 100 + 100


def test_opaque_marker_on_a_symlinked_dir_applies_to_the_target(box: Sandbox) -> None:
    """The marker's directory is resolved inside the tree like any parent."""
    lower = ob.Layer().file("real/x", "x").symlink("link", "real")
    result = box.run(layers(lower, ob.Layer().opaque("link")))
    assert listing(result.tree) == {"/": "dir", "/link": "symlink:real", "/real": "dir"}


def test_types_of_every_node_are_known(box: Sandbox) -> None:
    """Smoke: a layer with every kind produces only known node classes."""
    layer = ob.Layer().file("f", "x").dir("d").symlink("s", "f").hardlink("h", "f").fifo("p")
    result = box.run(layers(layer))
    for _, n in result.tree.walk():
        assert n.kind in {"dir", "file", "symlink", "fifo", "char", "block"}
    assert isinstance(node(result, "/h"), FileNode)
    assert isinstance(node(result, "/s"), SymlinkNode)
