"""`manifest.json`: what a state file holds, and checks of what it claims.

The manifest is untrusted input like the rest of the file: every field used
on import is checked here for type and shape before anything else reads it.
"""

from __future__ import annotations

import keyword
import posixpath
import re
import sys
import time

from .errors import StateError

FORMAT = "jupyterlite-stream-state"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"

#: how a variable is stored; see namespace.py
STORAGES = ("json", "pickle-data", "pickle-code", "sqlite", "module-import")
#: storages that have a data entry in the zip
STORAGES_WITH_ENTRY = ("json", "pickle-data", "pickle-code", "sqlite")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def new_manifest() -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version,
        "pyodide": pyodide_version(),
        "variables": [],
        "files": [],
        "packages": [],
        "skipped": [],
    }


def pyodide_version() -> str | None:
    try:
        import pyodide
    except ImportError:
        return None
    return getattr(pyodide, "__version__", None)


def is_safe_entry_name(name: str) -> bool:
    """A relative zip member name that stays inside the archive: no absolute
    path, drive letter, backslash, `..`, empty or `.` segment, NUL."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    if re.match(r"^[A-Za-z]:", name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


#: the shell's own names: `get_ipython = 1` from a file would break every
#: magic, `%import_state` included (export never writes them either)
RESERVED_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "display", "help"})
#: storages whose loading runs code: listed as such, loaded only with trust
NEEDS_TRUST_STORAGES = ("pickle-code", "module-import")


def is_valid_variable_name(name) -> bool:
    """Names import may set: identifiers that export could have written
    (never `_`-names, which are IPython's or private, nor the shell's own)."""
    return (
        isinstance(name, str)
        and len(name) <= 200
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and name not in RESERVED_NAMES
    )


def check_manifest(manifest) -> None:
    """Raise StateError unless `manifest` has the shape import relies on."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StateError("not a state file: manifest.json has no jupyterlite-stream format tag")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StateError(f"unknown state format version {version!r}")
    if version > FORMAT_VERSION:
        raise StateError(
            f"state format version {version} is newer than this kernel reads "
            f"({FORMAT_VERSION}): update jupyterlite-stream"
        )
    for key in ("variables", "files", "packages", "skipped"):
        if not isinstance(manifest.get(key), list):
            raise StateError(f"manifest: {key!r} must be a list")
    entries = set()
    names = set()
    for var in manifest["variables"]:
        _check_variable(var, names, entries)
    for record in manifest["files"]:
        _check_file(record, entries)
    for package in manifest["packages"]:
        if not (
            isinstance(package, dict)
            and isinstance(package.get("name"), str)
            and isinstance(package.get("version", ""), str)
        ):
            raise StateError(f"manifest: bad package record {package!r:.80}")


def _check_entry_fields(record: dict, what: str, entries: set) -> None:
    entry = record.get("entry")
    if not isinstance(entry, str) or not is_safe_entry_name(entry):
        raise StateError(f"manifest: {what} has an unsafe entry path {entry!r:.80}")
    if entry in (MANIFEST, SIGNATURE) or entry in entries:
        raise StateError(f"manifest: {what} reuses entry {entry!r}")
    entries.add(entry)
    size = record.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise StateError(f"manifest: {what} has a bad size {size!r:.40}")
    if not isinstance(record.get("sha256"), str) or not _SHA256.match(record["sha256"]):
        raise StateError(f"manifest: {what} has a bad sha256")


def _check_variable(var, names: set, entries: set) -> None:
    if not isinstance(var, dict):
        raise StateError("manifest: a variable record is not an object")
    name = var.get("name")
    if not is_valid_variable_name(name):
        raise StateError(f"manifest: variable name not allowed: {name!r:.80}")
    if name in names:
        raise StateError(f"manifest: variable {name!r} is listed twice")
    names.add(name)
    storage = var.get("storage")
    if storage not in STORAGES:
        raise StateError(f"manifest: variable {name!r} has unknown storage {storage!r:.40}")
    if storage in STORAGES_WITH_ENTRY:
        _check_entry_fields(var, f"variable {name!r}", entries)
    else:
        module, attr = var.get("module"), var.get("attr")
        if not isinstance(module, str) or not _DOTTED.match(module):
            raise StateError(f"manifest: variable {name!r} has a bad module name {module!r:.80}")
        if attr is not None and (not isinstance(attr, str) or not _DOTTED.match(attr)):
            raise StateError(f"manifest: variable {name!r} has a bad attribute {attr!r:.80}")


def _check_file(record, entries: set) -> None:
    if not isinstance(record, dict):
        raise StateError("manifest: a file record is not an object")
    root, path = record.get("root"), record.get("path")
    if not isinstance(root, str) or not root.startswith("/") or posixpath.normpath(root) != root:
        raise StateError(f"manifest: file root is not a plain absolute folder: {root!r:.80}")
    if not isinstance(path, str) or not is_safe_entry_name(path):
        raise StateError(f"manifest: file path escapes its folder: {path!r:.80}")
    _check_entry_fields(record, f"file {path!r}", entries)


def entries_of(manifest: dict) -> dict[str, dict]:
    """Every data entry the manifest lists -> its record (size, sha256)."""
    records = [v for v in manifest["variables"] if v["storage"] in STORAGES_WITH_ENTRY]
    return {r["entry"]: r for r in records + manifest["files"]}
