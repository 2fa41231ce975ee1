"""Kernel state export and import: variables, open SQLite databases, kernel
files that a reload would lose and user-installed packages, in one zip.

    export_state(path=None, ...) -> ExportReport   # report.data: the zip's bytes
    inspect_state(data_or_path, ...) -> Preview    # what a file holds; no change
    import_state(data_or_path, trust=False, ...) -> ImportReport
    await import_state_async(...)                  # + reinstalls packages (trusted)
    register_magics(shell)                         # %export_state, %import_state

A state file is untrusted input: import checks all of it before changing
anything and raises StateError (a ValueError) naming the problem. Without
trust it loads data only; objects whose loading runs code (functions,
classes, instances of cell-defined classes) need `trust=True` or a file
signed with the `signing_key` given (HMAC-SHA256 of the manifest).
"""

from __future__ import annotations

import sys

from . import exporter, importer
from . import packages as _packages
from .archive import Limits
from .errors import StateError
from .magics import load_ipython_extension, register_magics
from .reports import ExportReport, ImportReport, Preview

__all__ = [
    "export_state",
    "inspect_state",
    "import_state",
    "import_state_async",
    "register_magics",
    "load_ipython_extension",
    "set_signing_key",
    "Limits",
    "StateError",
    "ExportReport",
    "ImportReport",
    "Preview",
]

MiB = 1024 * 1024
#: stands for "the key given to set_signing_key" in the signatures below
DEFAULT_KEY = object()
_signing_key: bytes | None = None


def set_signing_key(key: bytes | str | None) -> None:
    """The key used when a call does not pass one (also by the magics): the
    browser keeps one key and sets it once, so it trusts what it exported.
    StateError for a key shorter than MIN_KEY_BYTES."""
    global _signing_key
    key = _as_bytes(key)
    if key is not None and len(key) < MIN_KEY_BYTES:
        raise StateError(f"signing key too short (at least {MIN_KEY_BYTES} bytes)")
    _signing_key = key


#: shorter keys (an empty one above all) would make a "trusted" file easy
#: to forge: they neither sign nor verify anything
MIN_KEY_BYTES = 16


def _as_bytes(key):
    return key.encode() if isinstance(key, str) else key


def _key(key):
    """The key a call uses, or None. A short key given to a call is no
    error, as a wrong key is none (the page passes whatever its storage
    holds): the file is exported unsigned, and nothing verifies with it."""
    key = _as_bytes(_signing_key if key is DEFAULT_KEY else key)
    if key is not None and len(key) < MIN_KEY_BYTES:
        return None
    return key


def _user_namespace(namespace: dict | None) -> tuple[dict, dict]:
    """(namespace, names to leave out): the shell's, else `__main__`'s."""
    if namespace is not None:
        return namespace, {}
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is not None:
        return shell.user_ns, getattr(shell, "user_ns_hidden", {})
    return sys.modules["__main__"].__dict__, {}


def export_state(
    path=None,
    *,
    namespace: dict | None = None,
    include_files: bool = True,
    max_file_bytes: int = 50 * MiB,
    max_files_bytes: int = 200 * MiB,
    file_roots=None,
    packages: list[dict] | None = None,
    signing_key=DEFAULT_KEY,
) -> ExportReport:
    """Save the user namespace (default: the shell's), the files under
    `file_roots` (default: home and /tmp in the browser, none elsewhere) and
    `packages` (default: those installed since the kernel started) to one
    zip at `path`, or in `report.data` when `path` is None. What cannot be
    saved is listed in `report.skipped` with the reason."""
    ns, hidden = _user_namespace(namespace)
    return exporter.export_state(
        path,
        namespace_=ns,
        hidden=hidden,
        include_files=include_files,
        max_file_bytes=max_file_bytes,
        max_files_bytes=max_files_bytes,
        file_roots=file_roots,
        packages=packages,
        signing_key=_key(signing_key),
    )


def inspect_state(data_or_path, *, signing_key=DEFAULT_KEY, limits: Limits | None = None):
    """What a state file holds (checked in full; StateError if broken)."""
    return importer.inspect_state(data_or_path, signing_key=_key(signing_key), limits=limits)


def import_state(
    data_or_path,
    *,
    trust: bool = False,
    namespace: dict | None = None,
    signing_key=DEFAULT_KEY,
    file_roots=None,
    restore_files: bool = True,
    limits: Limits | None = None,
) -> ImportReport:
    """Restore a state file into `namespace` (default: the shell's), merging:
    names in the file replace the same names, others stay. All or nothing:
    StateError and no change when the file is broken or hostile. Code-running
    entries load only if `trust` or the file's signature verifies with
    `signing_key` (a bad signature only means "not trusted")."""
    from .files import default_roots

    ns, _ = _user_namespace(namespace)
    return importer.import_state(
        data_or_path,
        ns=ns,
        trust=trust,
        signing_key=_key(signing_key),
        file_roots=default_roots() if file_roots is None else file_roots,
        limits=limits,
        restore_files=restore_files,
    )


async def import_state_async(data_or_path, *, installer=None, **options) -> ImportReport:
    """`import_state`, after installing (micropip, best effort) the packages
    the file records and this kernel lacks, when the file is trusted.
    `installer`: async callable taking a package name (tests)."""
    preview = inspect_state(
        data_or_path,
        signing_key=options.get("signing_key", DEFAULT_KEY),
        limits=options.get("limits"),
    )
    installed, failures = [], {}
    wanted = _packages.missing(preview.packages)
    if wanted and (options.get("trust") or preview.trusted):
        failures = await _packages.install(wanted, installer)
        installed = [name for name in wanted if name not in failures]
    report = import_state(data_or_path, **options)
    report.packages_installed = installed
    report.skipped += [
        {"name": name, "kind": "package", "reason": f"install failed: {error}"}
        for name, error in failures.items()
    ]
    return report
