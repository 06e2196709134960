"""Opening uploads: plain files, .gz, .zip, .tar(.gz), with size and zip-bomb limits.

Every input is turned into :class:`Member` objects (one per data file inside). Limits:
``max_bytes`` caps each upload as given; ``max_expanded_bytes`` and ``max_expand_ratio``
(expanded / compressed size) cap what archives may expand to. Zip archives are checked on
their declared sizes before anything is read *and* every decompressed byte is counted while
streaming, so lying headers are caught too. One upload has one expansion budget, however
deeply its archives nest (a .gz or .tar.gz inside a zip spends the zip's budget): every
byte any decompression layer produces counts against it. Unsafe member paths (absolute,
``..``, drive letters), links and device entries refuse the whole upload; damaged archives
(bad headers, truncated data, unsupported compression methods) are refused as
``unreadable``. macOS metadata (``__MACOSX/``, AppleDouble ``._name`` files) is skipped.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Literal

from .errors import IngestRefused

DATA_SUFFIXES = (".csv", ".txt", ".tsv")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
IGNORED_NAMES = ("__MACOSX/", ".DS_Store", "Thumbs.db")
APPLEDOUBLE_PREFIX = "._"  # macOS resource forks ("._name.csv"), binary despite the suffix
# What a damaged compressed stream raises while being read (bz2 raises OSError).
_CORRUPT_DATA = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    tarfile.TarError,
)
_ZIP_METHODS = {9: "Deflate64", 6: "Implode", 98: "PPMd", 95: "XZ", 93: "Zstandard"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 512 * 1024**2
    max_expanded_bytes: int = 2 * 1024**3
    max_expand_ratio: float = 100.0
    max_members: int = 10_000


@dataclass
class Member:
    """One data file of an upload: CSV-like text or an in-memory shapefile package."""

    name: str
    kind: Literal["text", "shapefile"]
    open: Callable[[], IO[bytes]] | None = None
    parts: dict[str, bytes] = field(default_factory=dict)


# anything with read(n) -> bytes: files, archive members, gzip and counting readers
ByteStream = IO[bytes] | io.RawIOBase | io.BufferedIOBase


class _Budget:
    """Shared count of decompressed bytes for one upload item (all nesting levels)."""

    def __init__(self, limit: int, source: str) -> None:
        self.limit = limit
        self.used = 0
        self.source = source

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    def tighten(self, limit: int) -> None:
        """Lower the limit once the upload's size is known (never raise it)."""
        self.limit = min(self.limit, limit)

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise IngestRefused(
                "archive_too_large",
                f"archive expands beyond the limit of {self.limit:,} bytes (zip bomb?)",
                self.source,
            )


class CountingReader(io.RawIOBase):
    """Raw stream that counts bytes and refuses past a limit (and optionally a budget)."""

    def __init__(
        self,
        inner: ByteStream,
        limit: int | None,
        source: str,
        code: str = "too_large",
        budget: _Budget | None = None,
        prefix: bytes = b"",
    ) -> None:
        self.inner = inner
        self.limit = limit
        self.count = 0
        self.source = source
        self.code = code
        self.budget = budget
        self.prefix = prefix

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        start = 0
        if self.prefix:
            start = min(len(buf), len(self.prefix))
            buf[:start] = self.prefix[:start]
            self.prefix = self.prefix[start:]
            if start == len(buf):
                return start
        try:
            data = self.inner.read(len(buf) - start)
        except _CORRUPT_DATA as exc:
            msg = f"corrupt compressed data: {exc}"
            raise IngestRefused("unreadable", msg, self.source) from exc
        n = len(data)
        buf[start : start + n] = data
        self.count += n
        if self.limit is not None and self.count > self.limit:
            raise IngestRefused(
                self.code, f"more than {self.limit:,} bytes (limit exceeded)", self.source
            )
        if self.budget is not None:
            self.budget.spend(n)
        return start + n


def check_member_name(name: str, source: str) -> None:
    """Refuse absolute paths, ``..`` components, drive letters and NUL bytes."""
    norm = name.replace("\\", "/")
    parts = PurePosixPath(norm).parts
    if (
        not norm
        or norm.startswith("/")
        or "\x00" in norm
        or (len(norm) > 1 and norm[1] == ":")
        or ".." in parts
    ):
        raise IngestRefused("unsafe_path", f"archive member has an unsafe path: {name!r}", source)


def _ignored(name: str) -> bool:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return (
        any(part in name for part in IGNORED_NAMES)
        or name.endswith("/")
        or base.startswith(APPLEDOUBLE_PREFIX)
    )


def _read_head(stream: ByteStream, n: int) -> bytes:
    chunks = []
    got = 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _size_of(fileobj: BinaryIO) -> int | None:
    try:
        return os.fstat(fileobj.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        pass
    size = getattr(fileobj, "size", None)
    if isinstance(size, int):
        return size
    if getattr(fileobj, "seekable", lambda: False)():
        pos = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(pos)
        return end - pos
    return None


InputLike = str | os.PathLike | BinaryIO | tuple[str, BinaryIO]


def input_name(item: InputLike) -> str:
    """Display name of an input (file name, without directories)."""
    if isinstance(item, tuple):
        return str(item[0])
    if isinstance(item, str | os.PathLike):
        return Path(item).name
    return os.path.basename(str(getattr(item, "name", None) or "upload"))


def _open_input(item: InputLike) -> tuple[str, BinaryIO, bool]:
    """(display name, binary stream, whether we opened it)."""
    if isinstance(item, tuple):
        name, fileobj = item
        return str(name), fileobj, False
    if isinstance(item, str | os.PathLike):
        path = Path(item)
        try:
            return path.name, path.open("rb"), True
        except OSError as exc:
            raise IngestRefused("unreadable", f"cannot open file: {exc}", path.name) from exc
    name = getattr(item, "name", None) or "upload"
    return os.path.basename(str(name)), item, False


def iter_members(item: InputLike, limits: Limits, skipped: list[str]) -> Iterator[Member]:
    """Yield the data files of one input; names of ignored archive members go to ``skipped``."""
    name, fileobj, owned = _open_input(item)
    try:
        size = _size_of(fileobj)
        if size is not None and size > limits.max_bytes:
            raise IngestRefused(
                "too_large", f"file is {size:,} bytes, over the {limits.max_bytes:,} limit", name
            )
        budget = _Budget(_expansion_limit(limits, size), name)
        head = _read_head(fileobj, 4)
        if head.startswith(b"PK"):
            yield from _zip_members(name, head, fileobj, limits, skipped, budget)
            return
        raw = CountingReader(fileobj, limits.max_bytes, name, prefix=head)
        if head.startswith(b"\x1f\x8b"):
            yield from _gzip_members(name, raw, limits, skipped, budget)
            return
        yield Member(name, "text", open=lambda: io.BufferedReader(raw, 1 << 16))
    finally:
        if owned:
            fileobj.close()


def _expansion_limit(limits: Limits, compressed: int | None) -> int:
    if compressed is None:
        return limits.max_expanded_bytes
    return int(min(limits.max_expanded_bytes, max(compressed, 1) * limits.max_expand_ratio))


def _gzip_members(
    name: str, raw: CountingReader, limits: Limits, skipped: list[str], budget: _Budget
) -> Iterator[Member]:
    gz = gzip.GzipFile(fileobj=io.BufferedReader(raw, 1 << 16), mode="rb")
    inner = CountingReader(gz, None, name, budget=budget)
    try:
        head = _read_head(inner, 512)
    except (OSError, EOFError) as exc:
        raise IngestRefused("unreadable", f"corrupt gzip data: {exc}", name) from exc
    inner.prefix = head
    if len(head) >= 262 and head[257:262] == b"ustar":
        yield from _tar_members(name, io.BufferedReader(inner, 1 << 16), limits, skipped)
        return
    inner_name = name[:-3] if name.lower().endswith(".gz") else name
    yield Member(inner_name, "text", open=lambda: io.BufferedReader(inner, 1 << 16))


def _tar_members(
    name: str, stream: BinaryIO, limits: Limits, skipped: list[str]
) -> Iterator[Member]:
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - closed below
    except tarfile.TarError as exc:
        raise IngestRefused("unreadable", f"corrupt tar archive: {exc}", name) from exc
    count = 0
    with archive:
        for info in _tar_infos(archive, name):
            check_member_name(info.name, name)
            if info.isdir():
                continue
            if not info.isreg():
                raise IngestRefused(
                    "unsafe_path", f"archive member {info.name!r} is a link or device", name
                )
            count += 1
            if count > limits.max_members:
                raise IngestRefused("archive_too_large", "too many archive members", name)
            full = f"{name}:{info.name}"
            if _ignored(info.name) or not info.name.lower().endswith(DATA_SUFFIXES):
                skipped.append(full)
                continue
            extracted = archive.extractfile(info)
            if extracted is None:
                skipped.append(full)
                continue
            data = CountingReader(extracted, info.size, full, code="archive_too_large")
            yield Member(full, "text", open=partial(io.BufferedReader, data, 1 << 16))


def _tar_infos(archive: tarfile.TarFile, name: str) -> Iterator[tarfile.TarInfo]:
    """The members of a streamed tar; a damaged header mid-archive refuses the upload."""
    while True:
        try:
            info = archive.next()
        except tarfile.TarError as exc:
            raise IngestRefused("unreadable", f"corrupt tar archive: {exc}", name) from exc
        if info is None:
            return
        yield info


def _zip_method(info: zipfile.ZipInfo) -> str:
    return _ZIP_METHODS.get(info.compress_type, f"method {info.compress_type}")


def _zip_members(
    name: str,
    head: bytes,
    fileobj: BinaryIO,
    limits: Limits,
    skipped: list[str],
    budget: _Budget,
) -> Iterator[Member]:
    if getattr(fileobj, "seekable", lambda: False)():
        fileobj.seek(fileobj.tell() - len(head))
        seekable: BinaryIO = fileobj
    else:
        data = head + _read_head(CountingReader(fileobj, limits.max_bytes, name), limits.max_bytes)
        seekable = io.BytesIO(data)
        budget.tighten(_expansion_limit(limits, len(data)))
    try:
        archive = zipfile.ZipFile(seekable)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestRefused("unreadable", f"corrupt zip archive: {exc}", name) from exc
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        for info in infos:
            check_member_name(info.filename, name)
        if len(infos) > limits.max_members:
            raise IngestRefused("archive_too_large", "too many archive members", name)
        if any(i.flag_bits & 0x1 for i in infos):
            raise IngestRefused("unreadable", "encrypted zip archives are not supported", name)
        declared = sum(i.file_size for i in infos)
        if declared > budget.remaining:
            raise IngestRefused(
                "archive_too_large",
                f"archive declares {declared:,} expanded bytes, over the limit of"
                f" {budget.limit:,} (zip bomb?)",
                name,
            )

        def member_stream(info: zipfile.ZipInfo) -> BinaryIO:
            full = f"{name}:{info.filename}"
            try:
                opened = archive.open(info)
            except NotImplementedError as exc:  # zipfile: "compression method not supported"
                msg = (
                    f"compressed with {_zip_method(info)}, which is not supported;"
                    " re-create the zip with ordinary (Deflate) compression"
                )
                raise IngestRefused("unreadable", msg, full) from exc
            except _CORRUPT_DATA as exc:  # e.g. BadZipFile for a damaged local header
                raise IngestRefused("unreadable", f"corrupt zip member: {exc}", full) from exc
            raw = CountingReader(
                opened, info.file_size, full, code="archive_too_large", budget=budget
            )
            return io.BufferedReader(raw, 1 << 16)

        names = {i.filename.lower(): i for i in infos}
        shapefile_parts: set[str] = set()
        for info in infos:
            lower = info.filename.lower()
            if lower.endswith(".shp") and not _ignored(info.filename):
                base = lower[:-4]
                parts: dict[str, bytes] = {}
                for ext in SHAPEFILE_PARTS:
                    part = names.get(base + ext)
                    if part is not None:
                        with member_stream(part) as fh:
                            parts[ext[1:]] = fh.read()
                        shapefile_parts.add(part.filename)
                yield Member(f"{name}:{info.filename}", "shapefile", parts=parts)
        for info in infos:
            lower = info.filename.lower()
            full = f"{name}:{info.filename}"
            if info.filename in shapefile_parts:
                continue
            if _ignored(info.filename):
                skipped.append(full)
            elif lower.endswith(DATA_SUFFIXES):
                yield Member(full, "text", open=partial(member_stream, info))
            elif lower.endswith(".gz"):
                yield from _gzip_members(
                    full, CountingReader(member_stream(info), None, full), limits, skipped, budget
                )
            elif lower.endswith(".zip"):
                raise IngestRefused("unreadable", f"nested zip archive {info.filename!r}", name)
            else:
                skipped.append(full)
