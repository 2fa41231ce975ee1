"""`%export_state [path] [--no-files]` and `%import_state path [--trust]
[--no-files]`, for the kernel in the browser and for ipykernel
(`%load_ext jupyterlite_stream.runtime.state`)."""

from __future__ import annotations

import shlex
import time

USAGE_EXPORT = "%export_state [path.zip] [--no-files]"
USAGE_IMPORT = "%import_state path.zip [--trust] [--no-files]"


def _parse(line: str, flags: set[str], usage: str) -> tuple[list[str], set[str]]:
    from IPython.core.error import UsageError

    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"{exc}; usage: {usage}") from None
    given = {w for w in words if w.startswith("--")}
    if given - flags:
        raise UsageError(f"unknown option {sorted(given - flags)[0]}; usage: {usage}")
    return [w for w in words if not w.startswith("--")], given


def export_state_magic(line: str = ""):
    from IPython.core.error import UsageError

    from . import export_state

    args, flags = _parse(line, {"--no-files"}, USAGE_EXPORT)
    if len(args) > 1:
        raise UsageError(f"one path at most; usage: {USAGE_EXPORT}")
    # default: the current folder, i.e. the drive in the browser, which
    # survives the reload and shows in the file browser
    path = args[0] if args else time.strftime("state-%Y%m%d-%H%M%S.zip")
    report = export_state(path, include_files="--no-files" not in flags)
    print(report.summary())


def import_state_magic(line: str = ""):
    from IPython.core.error import UsageError

    from . import StateError, import_state

    args, flags = _parse(line, {"--trust", "--no-files"}, USAGE_IMPORT)
    if len(args) != 1:
        raise UsageError(f"one path; usage: {USAGE_IMPORT}")
    try:
        report = import_state(
            args[0], trust="--trust" in flags, restore_files="--no-files" not in flags
        )
    except StateError as exc:
        raise UsageError(f"state file rejected, nothing changed: {exc}") from None
    print(report.summary())
    if report.packages_missing:
        print(f"to get them: %pip install {' '.join(report.packages_missing)}, then import again")
    if any(s["reason"].startswith("needs trust") for s in report.skipped):
        print("objects that run code were left out; if you trust this file: --trust")


def register_magics(shell) -> None:
    """Add the two magics to `shell`; also notes the packages installed now
    (at kernel start), so that export records only later installs."""
    from .packages import remember_startup_packages

    remember_startup_packages()
    shell.register_magic_function(export_state_magic, "line", "export_state")
    shell.register_magic_function(import_state_magic, "line", "import_state")


def load_ipython_extension(ipython) -> None:
    register_magics(ipython)
