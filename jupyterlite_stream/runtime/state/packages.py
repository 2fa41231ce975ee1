"""Packages the user installed with `%pip` / micropip, to install again.

"User-installed" is whatever is installed now but was not when the kernel
started: `remember_startup_packages` (called by `register_magics`, which the
kernel calls at start) takes that snapshot. Outside the browser nothing is
recorded unless the caller passes a list.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys

_startup: set[str] | None = None
#: loaded by the kernel itself when it needs them (the page's Export/Import
#: State loads cloudpickle), never installed by the user: not recorded
_OWN = frozenset({"cloudpickle"})


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed() -> dict[str, str]:
    result = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            result[_canonical(name)] = dist.version
    return result


def remember_startup_packages() -> None:
    global _startup
    if _startup is None and sys.platform == "emscripten":
        _startup = _names_on_path()


def _names_on_path() -> set[str]:
    """The distributions installed now, from their metadata folders' names
    (`tqdm-4.67.3.dist-info`): one directory listing per path entry, where
    reading every METADATA file would cost the kernel's start 0.1 s or more."""
    names = set()
    for entry in sys.path:
        names |= _names_in(entry or ".")
    return names


#: folder -> (its modification time, the names found in it): a folder is
#: listed again only when it changed (listing the kernel's site-packages is
#: one step of C code of ~20 ms or more, at every automatic checkpoint)
_listings: dict[str, tuple[int, frozenset]] = {}


def _names_in(folder: str) -> frozenset:
    try:
        changed = os.stat(folder).st_mtime_ns
        cached = _listings.get(folder)
        if cached is not None and cached[0] == changed:
            return cached[1]
        children = os.listdir(folder)
    except OSError:
        return frozenset()  # a zip, or gone
    names = set()
    for child in children:
        stem, dot, kind = child.rpartition(".")
        if dot and kind in ("dist-info", "egg-info"):
            names.add(_canonical(stem.split("-")[0]))
    _listings[folder] = (changed, frozenset(names))
    return _listings[folder][1]


def user_installed() -> list[dict]:
    if _startup is None:
        return []
    if _names_on_path() <= _startup | _OWN:
        # nothing new by the folder names: reading every METADATA file was
        # ~0.2 s of each automatic checkpoint
        return []
    return [
        {"name": name, "version": version}
        for name, version in sorted(installed().items())
        if name not in _startup and name not in _OWN
    ]


def missing(packages: list[dict]) -> list[str]:
    """Names of recorded packages not installed here (from the folder names:
    every import asks, and reading every METADATA file took 0.35 s)."""
    here = _names_on_path()
    return [p["name"] for p in packages if _canonical(p["name"]) not in here]


async def install(names: list[str], installer=None) -> dict[str, str]:
    """Install each of `names` (best effort); {name: error} of failures.
    `installer` is an async callable taking a name (default micropip's)."""
    if installer is None:
        try:
            import micropip
        except ImportError:
            return {name: "micropip is not available in this kernel" for name in names}
        installer = micropip.install
    failures = {}
    for name in names:
        try:
            await installer(name)
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    return failures
