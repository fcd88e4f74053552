"""Unit tests of the strict tar reader against archives written by stdlib tarfile (every format)
and against hand-broken headers."""

from __future__ import annotations

import io
import tarfile

import pytest

from dock2uni.errors import LimitExceededError, UnsafeLayerError
from dock2uni.unpack import tarstream
from dock2uni.unpack.tarstream import TarEntry, TarReader, parse_pax_records

MiB = 1 << 20
FORMATS = {
    "ustar": tarfile.USTAR_FORMAT,
    "gnu": tarfile.GNU_FORMAT,
    "pax": tarfile.PAX_FORMAT,
}


def member(name: str, kind: bytes = tarfile.REGTYPE, **fields: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = 1_700_000_000
    info.uname = info.gname = ""
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def write_tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int, **kw: object) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, **kw) as tar:  # type: ignore[call-overload]
        for info, data in members:
            if info.isreg():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def read_all(data: bytes, **kw: int) -> list[tuple[TarEntry, bytes]]:
    reader = TarReader(
        io.BufferedReader(io.BytesIO(data)),  # type: ignore[arg-type]
        max_entry_bytes=kw.get("max_entry_bytes", 1 << 30),
        max_path_bytes=kw.get("max_path_bytes", 4096),
    )
    return [(entry, reader.read_data()) for entry in reader]


def fix_checksum(block: bytearray) -> bytearray:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return block


def header(name: bytes = b"f", typeflag: bytes = b"0", length: int = 0, **raw: bytes) -> bytes:
    """A ustar header with a correct checksum; ``raw`` overrides fields by offset name."""
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % length
    block[136:148] = b"14544073000\0"
    block[156:157] = typeflag
    block[257:265] = b"ustar\x0000"
    offsets = {"size": (124, 136), "mode": (100, 108), "uid": (108, 116), "mtime": (136, 148)}
    for key, value in raw.items():
        start, end = offsets[key]
        block[start:end] = value.ljust(end - start, b"\0")
    return bytes(fix_checksum(block))


def pax_header(records: bytes, typeflag: bytes = b"x") -> bytes:
    pad = -len(records) % 512
    return header(b"PaxHeader", typeflag, len(records)) + records + b"\0" * pad


def pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


END = b"\0" * 1024


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_entry_kind_round_trips(fmt: str) -> None:
    """Files, dirs, links, devices and FIFOs read back with tarfile's own metadata."""
    members = [
        (member("dir", tarfile.DIRTYPE, mode=0o2755), b""),
        (member("dir/file", mode=0o4755, uid=1000, gid=100), b"x" * 1300),
        (member("dir/empty"), b""),
        (member("dir/link", tarfile.SYMTYPE, linkname="/etc/passwd", mode=0o777), b""),
        (member("dir/hard", tarfile.LNKTYPE, linkname="dir/file"), b""),
        (member("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666), b""),
        (member("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0), b""),
        (member("run/fifo", tarfile.FIFOTYPE), b""),
        (member("dir/contiguous", tarfile.CONTTYPE), b"c" * 10),
    ]
    got = read_all(write_tar(members, FORMATS[fmt]))
    assert [(e.name.rstrip("/"), e.kind) for e, _ in got] == [
        ("dir", "dir"),
        ("dir/file", "file"),
        ("dir/empty", "file"),
        ("dir/link", "symlink"),
        ("dir/hard", "hardlink"),
        ("dev/null", "char"),
        ("dev/sda", "block"),
        ("run/fifo", "fifo"),
        ("dir/contiguous", "file"),
    ]
    by_name = {e.name.rstrip("/"): (e, data) for e, data in got}
    entry, data = by_name["dir/file"]
    assert (entry.mode, entry.uid, entry.gid, entry.mtime, data) == (
        0o4755,
        1000,
        100,
        1_700_000_000,
        b"x" * 1300,
    )
    assert by_name["dir"][0].mode == 0o2755
    assert by_name["dir/link"][0].linkname == "/etc/passwd"
    assert by_name["dir/hard"][0].linkname == "dir/file"
    assert (by_name["dev/null"][0].devmajor, by_name["dev/null"][0].devminor) == (1, 3)
    assert by_name["dir/contiguous"][1] == b"c" * 10


def test_ustar_prefix_field_joins_long_names() -> None:
    """A ustar name over 100 bytes is split into prefix + name and joined again."""
    name = "p" * 120 + "/" + "n" * 90
    got = read_all(write_tar([(member(name), b"data")], tarfile.USTAR_FORMAT))
    assert got[0][0].name == name
    assert got[0][1] == b"data"


def test_gnu_long_name_and_long_link() -> None:
    """GNU 'L' and 'K' records carry names and link targets beyond 100 bytes."""
    name = "/".join(["d" * 50] * 6) + "/file"
    target = "/".join(["t" * 60] * 5)
    members = [
        (member(name), b"payload"),
        (member(name + "2", tarfile.SYMTYPE, linkname=target), b""),
    ]
    data = write_tar(members, tarfile.GNU_FORMAT)
    assert b"././@LongLink" in data  # really the GNU records, not PAX
    got = read_all(data)
    assert [(e.name, e.linkname) for e, _ in got] == [(name, ""), (name + "2", target)]
    assert got[0][1] == b"payload"


def test_gnu_base256_numbers() -> None:
    """GNU writes numbers too big for octal fields in base-256; negative mtime is allowed."""
    members = [
        (member("big-ids", uid=3_000_000_000, gid=(1 << 32) - 1), b""),
        (member("old", mtime=-86400), b""),
    ]
    data = write_tar(members, tarfile.GNU_FORMAT)
    got = read_all(data)
    assert (got[0][0].uid, got[0][0].gid) == (3_000_000_000, (1 << 32) - 1)
    assert got[1][0].mtime == -86400


def test_base256_size_is_read() -> None:
    """A base-256 size field (GNU, for files over 8 GiB) is honoured."""
    block = bytearray(header(b"f", b"0", 5))
    block[124:136] = b"\x80" + (5).to_bytes(11, "big")
    data = bytes(fix_checksum(block)) + b"hello".ljust(512, b"\0") + END
    assert read_all(data)[0][1] == b"hello"


def test_pax_long_names_xattrs_and_overrides() -> None:
    """PAX path/linkpath/uid/gid/mtime/size and SCHILY.xattr records are applied."""
    name = "x/" + "long" * 60
    info = member(name, mode=0o644)
    info.pax_headers = {
        "SCHILY.xattr.user.comment": "hello",
        "SCHILY.xattr.security.capability": "\x01\x00\x00\x02",
        "uid": "4000000000",
        "mtime": "1700000000.123456",
        "comment": "ignored",
    }
    link = member("l", tarfile.SYMTYPE, linkname="/" + "t" * 300)
    got = read_all(write_tar([(info, b"abc"), (link, b"")], tarfile.PAX_FORMAT))
    entry, data = got[0]
    assert entry.name == name
    assert entry.uid == 4_000_000_000
    assert entry.mtime == 1_700_000_000
    assert entry.xattrs == {
        "user.comment": b"hello",
        "security.capability": b"\x01\x00\x00\x02",
    }
    assert data == b"abc"
    assert got[1][0].linkname == "/" + "t" * 300


def test_pax_non_utf8_name_survives_as_surrogates() -> None:
    """Undecodable name bytes are kept (surrogateescape) rather than rejected or mangled."""
    raw_name = b"caf\xe9"
    data = (
        pax_header(pax_record("hdrcharset", "BINARY") + b"13 path=caf\xe9\n")
        + header(b"ignored")
        + END
    )
    entry = read_all(data)[0][0]
    assert entry.name.encode("utf-8", "surrogateescape") == raw_name


def test_pax_empty_value_cancels_keyword() -> None:
    """'path=' with an empty value falls back to the header's own name (POSIX pax)."""
    data = pax_header(pax_record("path", "other") + b"8 path=\n") + header(b"real") + END
    assert read_all(data)[0][0].name == "real"


def test_pax_size_overrides_header_size() -> None:
    """A PAX size record wins over the (possibly truncated) octal field."""
    data = pax_header(pax_record("size", "3")) + header(b"f", b"0", 0) + b"abc".ljust(512, b"\0")
    assert read_all(data + END)[0][1] == b"abc"


def test_global_pax_header_is_ignored() -> None:
    """A 'g' header (git archive's comment) neither becomes an entry nor renames one."""
    data = pax_header(pax_record("path", "evil"), b"g") + header(b"good") + END
    assert [e.name for e, _ in read_all(data)] == ["good"]


def test_unread_data_is_skipped() -> None:
    """Iterating without reading an entry's data skips it, padding included."""
    members = [(member("a"), b"A" * 700), (member("b"), b"B" * 3)]
    reader = TarReader(
        io.BufferedReader(io.BytesIO(write_tar(members, tarfile.PAX_FORMAT))),  # type: ignore[arg-type]
        max_entry_bytes=MiB,
        max_path_bytes=4096,
    )
    names = []
    for entry in reader:
        names.append(entry.name)
        if entry.name == "b":
            assert reader.read_data() == b"BBB"
    assert names == ["a", "b"]


def test_trailing_data_after_end_marker_is_drained() -> None:
    """Bytes after the two zero blocks are read to EOF and counted, not parsed."""
    data = write_tar([(member("a"), b"1")], tarfile.PAX_FORMAT) + b"\0" * 5000 + b"junk"
    reader = TarReader(
        io.BufferedReader(io.BytesIO(data)),  # type: ignore[arg-type]
        max_entry_bytes=MiB,
        max_path_bytes=4096,
    )
    assert [e.name for e in reader] == ["a"]
    # header + data block + two zero blocks come first; tarfile pads to 10 KiB records
    assert reader.trailing_bytes == len(data) - 4 * 512


def test_old_v7_directory_by_trailing_slash() -> None:
    """A pre-POSIX entry with type '\\0' and a trailing '/' is a directory."""
    block = bytearray(header(b"olddir/", b"\0"))
    block[257:265] = bytes(8)
    data = bytes(fix_checksum(block)) + END
    assert read_all(data)[0][0].kind == "dir"


def test_empty_archive_and_single_zero_block() -> None:
    """An empty stream, one zero block, or a clean EOF after an entry all end the archive."""
    assert read_all(b"") == []
    assert read_all(b"\0" * 512) == []
    assert [e.name for e, _ in read_all(header(b"a"))] == ["a"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes(header(b"f"))[:-1] + b"X", "checksum"),
        (header(b"f")[:300], "truncated"),
        (header(b"f", b"0", 100) + b"x" * 50, "truncated"),
        (header(b"f", b"0", 0, size=b"\xff" * 12), "negative size"),
        (header(b"f", b"0", 0, size=b"12345678z"), "not an octal"),
        (header(b"f", b"S"), "sparse"),
        (header(b"f", b"V"), "unsupported type"),
        (header(b"f", b"D"), "unsupported type"),
        (pax_header(pax_record("GNU.sparse.map", "0,1")) + header(b"f") + END, "sparse"),
        (pax_header(b"0 \n".ljust(16, b"\0")) + header(b"f") + END, "length"),
        (pax_header(b"00000 \n") + header(b"f") + END, "length"),
        (pax_header(b"3 =\n") + header(b"f") + END, "length"),
        (pax_header(b"9 path=x") + header(b"f") + END, "length"),
        (pax_header(b"x path=y\n") + header(b"f") + END, "decimal length"),
        (pax_header(b"8 path=x") + header(b"f") + END, "newline"),
        (pax_header(b"8 noval\n") + header(b"f") + END, "keyword"),
        (pax_header(pax_record("size", "-1")) + header(b"f") + END, "non-negative"),
        (pax_header(pax_record("mtime", "soon")) + header(b"f") + END, "mtime"),
        (pax_header(pax_record("path", "x")) + END, "without a following entry"),
        (header(b"a") + b"\0" * 512 + header(b"b") + END, "ambiguous end"),
    ],
)
def test_malformed_archives_are_refused(data: bytes, message: str) -> None:
    """Every malformed header, record or truncation is an UnsafeLayerError, never a loop."""
    with pytest.raises(UnsafeLayerError, match=message) as info:
        read_all(data)
    assert info.value.exit_code == 6


def test_oversized_entries_and_names_hit_limits() -> None:
    """Sizes above the layer cap and GNU long names above PATH_MAX are LimitExceededError."""
    with pytest.raises(LimitExceededError, match="declares"):
        read_all(header(b"f", b"0", 10 * MiB), max_entry_bytes=MiB)
    longname = header(b"././@LongLink", b"L", 5000) + b"n" * 5000 + b"\0" * (-5000 % 512)
    with pytest.raises(LimitExceededError, match="long name"):
        read_all(longname + header(b"f") + END)
    huge_pax = header(b"PaxHeader", b"x", 2 * MiB)
    with pytest.raises(LimitExceededError, match="extended headers"):
        read_all(huge_pax)


def test_pax_record_parser_always_advances() -> None:
    """Well-formed records parse; trailing NULs end the record area."""
    records = pax_record("path", "a b=c") + pax_record("uid", "7") + b"\0\0\0"
    assert parse_pax_records(records) == [("path", b"a b=c"), ("uid", b"7")]


def test_signed_checksum_is_accepted() -> None:
    """Historic writers summed header bytes as signed chars; such headers still verify."""
    block = bytearray(header(b"caf\xe9"))
    block[148:156] = b" " * 8
    signed = sum(b - 256 if b & 0x80 else b for b in block)
    block[148:156] = b"%06o\0 " % signed
    assert tarstream.header_checksum_ok(bytes(block))
    assert read_all(bytes(block) + END)[0][0].name == "caf\udce9"
