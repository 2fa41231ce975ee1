"""The zip container: writing it, and reading it as untrusted input.

Reading checks the whole table of contents before any entry is
decompressed (entry count, names, symlinks, methods, declared sizes, ratios)
and every entry against the manifest when it is read (size, sha256), so a
zip bomb or a lying file fails early with a StateError naming the problem.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass

from .errors import StateError
from .manifest import MANIFEST, SIGNATURE, check_manifest, entries_of, is_safe_entry_name

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What import accepts; the defaults fit a browser tab (wasm has 4 GiB)."""

    max_archive_bytes: int = 2048 * MiB
    max_total_bytes: int = 1024 * MiB  # sum of the declared uncompressed sizes
    max_entry_bytes: int = 1024 * MiB
    max_entries: int = 10_000
    max_manifest_bytes: int = 16 * MiB
    #: uncompressed/compressed, for entries above `ratio_floor` bytes; our own
    #: files (deflate level 1) stay under ~230, a deflate bomb reaches ~1030
    max_ratio: float = 500.0
    ratio_floor: int = MiB
    #: bytes the data-pickle constructors of one import may build in all
    max_built_bytes: int = 512 * MiB


# ---------------------------------------------------------------- writing


class ArchiveWriter:
    """Writes entries to `fileobj`, compressing only what compresses."""

    def __init__(self, fileobj):
        self._zip = zipfile.ZipFile(fileobj, "w", allowZip64=True)

    def add(self, name: str, data) -> tuple[int, str]:
        """Store `data` (bytes-like) as `name`; return (size, sha256 hex)."""
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        view = memoryview(data).cast("B")
        info.file_size = len(view)
        if _compresses(view):
            # level 1: fast, states can be 100s of MB
            info.compress_type = zipfile.ZIP_DEFLATED
            _set_level(info, 1)
        else:
            info.compress_type = zipfile.ZIP_STORED
        digest = hashlib.sha256()
        # in chunks, checking between them: a checkpoint cut short by the
        # next cell (see checkpoint.py) stops within one chunk
        with self._zip.open(info, "w") as out:
            for start in range(0, len(view), CHUNK):
                if step_check is not None:
                    step_check()
                chunk = view[start : start + CHUNK]
                digest.update(chunk)
                out.write(chunk)
        return len(view), digest.hexdigest()

    def finish(self, manifest: dict, signing_key: bytes | None) -> None:
        manifest_bytes = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
        self.add(MANIFEST, manifest_bytes)
        if signing_key is not None:
            signature = {
                "algorithm": "hmac-sha256",
                "signature": sign(manifest_bytes, signing_key),
            }
            self.add(SIGNATURE, json.dumps(signature).encode())
        self._zip.close()


#: bytes hashed, deflated and written in one step: ~3 ms of C code in
#: Pyodide (1 MiB was ~10 ms of sha256 alone, which a cell cutting a
#: checkpoint short waited for)
CHUNK = 256 * 1024
#: called before each step of writing (None: nothing); raises to stop
step_check = None


def _set_level(info, level: int) -> None:
    """The deflate level of one entry (`compress_level` since Python 3.13)."""
    if hasattr(info, "compress_level"):
        info.compress_level = level
    else:
        info._compresslevel = level


def _compresses(data, sample=64 * 1024) -> bool:
    """Deflate runs at ~27 MB/s on random bytes: skip it for entries whose
    samples (start, middle, end) do not shrink by a tenth."""
    view = memoryview(data)
    if len(view) <= 3 * sample:
        return len(zlib.compress(view, 1)) < 0.9 * len(view) if len(view) > 64 else False
    middle = len(view) // 2
    parts = [view[:sample], view[middle : middle + sample], view[-sample:]]
    return sum(_compressed_size(p) for p in parts) < 0.9 * 3 * sample


def _compressed_size(part) -> int:
    if step_check is not None:
        step_check()  # each sample is a few ms of C code in Pyodide
    return len(zlib.compress(part, 1))


def sign(manifest_bytes: bytes, key: bytes) -> str:
    """HMAC-SHA256 of the manifest; the manifest holds every entry's sha256,
    which import checks, so this covers the whole file."""
    return hmac.new(bytes(key), manifest_bytes, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- reading


class ArchiveReader:
    """A state file opened for reading; construct with `open_archive`."""

    def __init__(self, zf: zipfile.ZipFile, fileobj, limits: Limits):
        self._zip, self._fileobj, self.limits = zf, fileobj, limits
        self._infos = {info.filename: info for info in zf.infolist()}
        self.manifest_bytes = self._read(MANIFEST, limits.max_manifest_bytes)
        try:
            self.manifest = json.loads(self.manifest_bytes)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise StateError(f"manifest.json is not valid JSON: {str(exc)[:100]}") from None
        check_manifest(self.manifest)
        self.records = entries_of(self.manifest)
        self._check_listing()

    def _check_listing(self) -> None:
        present = set(self._infos) - {MANIFEST, SIGNATURE}
        missing = sorted(set(self.records) - present)
        if missing:
            raise StateError(f"entry listed in the manifest but missing: {missing[0]!r}")
        extra = sorted(present - set(self.records))
        if extra:
            raise StateError(f"entry not listed in the manifest: {extra[0]!r}")
        for name, record in self.records.items():
            if self._infos[name].file_size != record["size"]:
                raise StateError(
                    f"entry {name!r}: zip says {self._infos[name].file_size} bytes, "
                    f"manifest says {record['size']}"
                )

    def read_entry(self, name: str) -> bytes:
        """The bytes of a listed entry, checked against the manifest."""
        record = self.records[name]
        data = self._read(name, record["size"])
        if len(data) != record["size"]:
            raise StateError(
                f"entry {name!r} is {len(data)} bytes, manifest says {record['size']}"
            )
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise StateError(f"entry {name!r} does not match its sha256 in the manifest")
        return data

    def check_all_entries(self) -> None:
        for name in self.records:
            self.read_entry(name)

    def _read(self, name: str, limit: int) -> bytes:
        info = self._infos.get(name)
        if info is None:
            raise StateError(f"not a state file: no {name}")
        if info.file_size > limit:
            raise StateError(f"entry {name!r} is larger than allowed ({info.file_size} bytes)")
        try:
            with self._zip.open(info) as stream:
                data = stream.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise StateError(f"entry {name!r} is corrupt or truncated: {exc}") from None
        if len(data) > limit:
            raise StateError(f"entry {name!r} is larger than it declares")
        return data

    def signature_valid(self, key: bytes | None) -> bool:
        """True when signed with `key`. A missing, malformed or wrong
        signature is not an error: the file is just not trusted."""
        if key is None or SIGNATURE not in self._infos:
            return False
        try:
            signature = json.loads(self._read(SIGNATURE, 4096))
            expected = sign(self.manifest_bytes, key)
            return signature.get("algorithm") == "hmac-sha256" and hmac.compare_digest(
                str(signature.get("signature")).encode("utf-8", "replace"), expected.encode()
            )
        except (StateError, ValueError, AttributeError, TypeError, RecursionError):
            return False

    @property
    def is_signed(self) -> bool:
        return SIGNATURE in self._infos

    def close(self) -> None:
        self._zip.close()
        if self._fileobj is not None:
            self._fileobj.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_archive(source, limits: Limits | None = None) -> ArchiveReader:
    """Open a state file from bytes or a path; check its table of contents."""
    limits = limits or Limits()
    fileobj = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > limits.max_archive_bytes:
            raise StateError(f"state file is larger than allowed ({len(source)} bytes)")
        stream = io.BytesIO(source)
    else:
        try:
            fileobj = stream = open(os.fspath(source), "rb")  # noqa: SIM115 (closed by reader)
            size = os.fstat(stream.fileno()).st_size
        except OSError as exc:
            raise StateError(f"cannot read the state file: {exc}") from None
        if size > limits.max_archive_bytes:
            stream.close()
            raise StateError(f"state file is larger than allowed ({size} bytes)")
    try:
        _check_directory_size(stream, limits)
        try:
            zf = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise StateError(f"not a state file (not a zip, or truncated): {exc}") from None
        _check_table(zf.infolist(), limits)
        return ArchiveReader(zf, fileobj, limits)
    except BaseException:
        if fileobj is not None:
            fileobj.close()
        raise


#: the most central-directory bytes one entry may take on average: an
#: exported entry's record is ~100 bytes (46 fixed + its name)
DIRECTORY_BYTES_PER_ENTRY = 1024
_END = b"PK\x05\x06"  # end of central directory record


def _check_directory_size(stream, limits: Limits) -> None:
    """The entry count and the directory's size from the zip's end record,
    before zipfile parses (and keeps a ZipInfo for) every entry: a zip of a
    million empty entries would cost seconds and hundreds of MiB first.
    A file without that record is left to zipfile's own error."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - 22 - 65_535))
    tail = stream.read()
    stream.seek(0)
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < 22:
        return
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    directory = int.from_bytes(tail[at + 12 : at + 16], "little")
    if count == 0xFFFF or directory == 0xFFFFFFFF:  # zip64
        if limits.max_entries < 0xFFFF and limits.max_archive_bytes < 2**31:
            raise StateError("a zip64 archive is larger than a state file may be")
        return
    if count > limits.max_entries:
        raise StateError(f"too many entries in the zip ({count} > {limits.max_entries})")
    if directory > DIRECTORY_BYTES_PER_ENTRY * max(limits.max_entries, 1):
        raise StateError(f"the zip's table of contents is too large ({directory} bytes)")


def _check_table(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Everything knowable from the central directory, before decompressing."""
    total_size = sum(i.file_size for i in infos)
    archive_size = sum(i.compress_size for i in infos) or 1
    if total_size > limits.ratio_floor and total_size / archive_size > limits.max_ratio:
        raise StateError("the zip as a whole has a suspicious compression ratio (zip bomb?)")
    if len(infos) > limits.max_entries:
        raise StateError(f"too many entries in the zip ({len(infos)} > {limits.max_entries})")
    seen, total = set(), 0
    for info in infos:
        name = info.filename
        if info.is_dir():
            raise StateError(f"entry {name!r} is a directory, not listed in the manifest")
        if not is_safe_entry_name(name):
            raise StateError(f"unsafe entry path in the zip (path traversal): {name!r:.80}")
        if name in seen:
            raise StateError(f"entry {name!r} appears twice in the zip")
        seen.add(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise StateError(f"entry {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise StateError(f"entry {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise StateError(f"entry {name!r} uses unsupported compression {info.compress_type}")
        if info.file_size > limits.max_entry_bytes:
            raise StateError(f"entry {name!r} is too large ({info.file_size} bytes)")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise StateError(f"the zip unpacks to more than {limits.max_total_bytes} bytes")
        if info.file_size > limits.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise StateError(
                    f"entry {name!r} has a suspicious compression ratio ({ratio:.0f}:1, zip bomb?)"
                )
