"""Kernel files that a reload would lose (home folder, /tmp), saved with the
state and written back on import.

The drive (/drive) is kept by JupyterLite itself, so it is never saved.
Restoring is two-phase so an import that fails leaves the disk as it was:
`stage` writes every file to a temporary name next to its target, `commit`
renames them over the targets (keeping backups until all succeeded).
"""

from __future__ import annotations

import importlib.machinery
import os
import posixpath
import secrets
import stat
import sys
import tempfile

from .errors import StateError

DRIVE = "/drive"
#: caches and IPython's own profile: rebuilt by the kernel, not user files
SKIP_DIRS = {"__pycache__", ".cache", ".ipython", ".local", ".config"}


#: where a file makes Python run code: never written by import (and never
#: saved by export, so an honest file always imports)
_CODE_FOLDERS = SKIP_DIRS | {"site-packages", "dist-packages"}
_CODE_SUFFIXES = (".pth", ".pyc", ".pyo")
_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pyw")


def refused_reason(path: str) -> str | None:
    """Why a file at absolute `path` is never restored: it is a place where
    Python or IPython would run it (startup folder, .pth, caches,
    site-packages) or it would shadow an importable module."""
    parts = path.split("/")
    if any(part in _CODE_FOLDERS for part in parts[:-1]):
        return "a folder where Python or IPython runs files"
    if parts[-1].endswith(_CODE_SUFFIXES) or parts[-1] in SKIP_DIRS:
        return "a file Python runs or caches"
    return _shadowed_module(path)


def _path_folders() -> list[str]:
    folders = []
    for entry in sys.path:
        try:
            folders.append(posixpath.normpath(os.path.abspath(entry or os.getcwd())))
        except (OSError, TypeError, ValueError):
            continue
    return folders


def _shadowed_module(path: str) -> str | None:
    folders = _path_folders()
    for folder in folders:
        if not path.startswith(folder + "/"):
            continue
        first = path[len(folder) + 1 :].split("/")
        top = first[0]
        if len(first) == 1:
            if not top.endswith(_MODULE_SUFFIXES):
                continue
            name = top.split(".")[0]
        elif first[1].startswith("__init__."):
            name = top
        else:
            continue  # a folder without __init__ never hides a module
        if not name.isidentifier():
            continue
        if name in sys.builtin_module_names or name in getattr(sys, "stdlib_module_names", ()):
            return f"it would shadow the module {name!r}"
        others = [f for f in folders if f != folder]
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, others)
        except (ImportError, ValueError, OSError):
            spec = None
        if spec is not None or (name in sys.modules and _outside(sys.modules[name], folder)):
            return f"it would shadow the module {name!r}"
    return None


def _outside(module, folder: str) -> bool:
    origin = getattr(module, "__file__", None)
    return not (isinstance(origin, str) and origin.startswith(folder + "/"))


def default_roots() -> list[str]:
    """Home and /tmp in the browser kernel; nothing elsewhere (a desktop
    kernel's home folder is not something to zip up)."""
    if sys.platform != "emscripten":
        return []
    return [os.path.expanduser("~"), tempfile.gettempdir()]


def normalize_roots(roots) -> list[str]:
    result = []
    for root in roots:
        root = posixpath.normpath(os.path.abspath(os.fspath(root)))
        if root == DRIVE or root.startswith(DRIVE + "/") or root in result:
            continue
        result.append(root)
    return result


def collect(roots, max_file_bytes: int, max_total_bytes: int, exclude=()):
    """(files, skipped): files = [(root, relative path, absolute path, size)]
    under `roots`; skipped = [{"name", "kind": "file", "reason"}]."""
    files, skipped, total = [], [], 0
    exclude = {os.path.abspath(p) for p in exclude}
    for root in normalize_roots(roots):
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(names):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if path in exclude:
                    continue
                info = os.lstat(path)
                reason = None
                if stat.S_ISLNK(info.st_mode):
                    reason = "symbolic link (not followed)"
                elif not stat.S_ISREG(info.st_mode):
                    reason = "not a regular file"
                elif refused_reason(path):
                    reason = f"not saved: {refused_reason(path)}"
                elif info.st_size > max_file_bytes:
                    reason = f"{info.st_size} bytes, over the limit of {max_file_bytes} per file"
                elif total + info.st_size > max_total_bytes:
                    reason = f"over the limit of {max_total_bytes} bytes for all files"
                if reason:
                    skipped.append({"name": path, "kind": "file", "reason": reason})
                    continue
                total += info.st_size
                files.append((root, rel, path, info.st_size))
    return files, skipped


class FileRestore:
    """Writes files back under `roots`, all or nothing."""

    def __init__(self, roots):
        self.roots = normalize_roots(roots)
        self._staged: list[tuple[str, str]] = []  # (temporary, target)
        self._made_dirs: list[str] = []

    def target(self, record: dict) -> str | None:
        """Where `record` goes, None when its root is not restored here;
        StateError when it would leave its root or hit a non-file."""
        root = record["root"]
        if root not in self.roots or not os.path.isdir(root):
            return None
        target = posixpath.join(root, record["path"])
        if posixpath.normpath(target) != target or not target.startswith(root + "/"):
            raise StateError(f"file path escapes its folder: {record['path']!r}")
        # every existing folder on the way must be a real folder, not a link out
        folder = root
        for part in record["path"].split("/")[:-1]:
            folder = posixpath.join(folder, part)
            if os.path.islink(folder) or (os.path.lexists(folder) and not os.path.isdir(folder)):
                raise StateError(f"cannot restore {target}: {folder} is not a plain folder")
        if os.path.isdir(target) and not os.path.islink(target):
            raise StateError(f"cannot restore {target}: it is a folder")
        if os.path.lexists(target) and not os.path.isfile(target):
            raise StateError(f"cannot restore {target}: it is not a plain file")
        reason = refused_reason(target)
        if reason:
            raise StateError(f"file refused, {reason}: {record['path'][:120]!r}")
        return target

    @staticmethod
    def check_plan(targets) -> None:
        """StateError when one target is a folder of another (`data.txt`
        and `data.txt/x`): found before anything is written."""
        targets = set(targets)
        for target in targets:
            folder = posixpath.dirname(target)
            while folder not in ("/", ""):
                if folder in targets:
                    raise StateError(f"file {folder} is also a folder in this file")
                folder = posixpath.dirname(folder)

    def stage(self, target: str, data: bytes) -> None:
        folder = posixpath.dirname(target)
        missing = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = posixpath.dirname(folder)
        for folder in reversed(missing):
            os.mkdir(folder)
            self._made_dirs.append(folder)
        # short: the target's own name may already be near NAME_MAX
        temporary = posixpath.join(posixpath.dirname(target), f".~{secrets.token_hex(4)}.tmp")
        with open(temporary, "xb") as file:
            self._staged.append((temporary, target))
            file.write(data)

    def commit(self) -> None:
        done = []  # (target, backup or None)
        try:
            for temporary, target in self._staged:
                backup = None
                if os.path.lexists(target):
                    backup = temporary[:-4] + ".bak"
                    os.replace(target, backup)
                done.append((target, backup))
                os.replace(temporary, target)
        except BaseException:
            for target, backup in reversed(done):
                if backup is not None:
                    os.replace(backup, target)
                elif os.path.lexists(target):
                    os.remove(target)
            self.rollback()
            raise
        for _, backup in done:
            if backup is not None:
                os.remove(backup)
        self._staged, self._made_dirs = [], []

    def rollback(self) -> None:
        """Remove staged files and the folders made for them."""
        for temporary, _ in self._staged:
            if os.path.lexists(temporary):
                os.remove(temporary)
        for folder in reversed(self._made_dirs):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        self._staged, self._made_dirs = [], []
