"""What a kernel restored from the build's memory snapshot must redo.

The snapshot was made once, at build time, in Node.js: everything computed at
import time is the same in every browser that restores it, and the files
written then are gone (the file system is not part of the snapshot). Most of
that is harmless (IPython's tables), but random numbers must not repeat from
student to student, local time must be the browser's, and IPython's profile
folder must exist.
"""

from __future__ import annotations

import os
import random
import sys
import time

# modules that did `try: from js import XMLHttpRequest except ImportError`
# at import: under Node (build time) the name was missing and stayed missing
_XHR_MODULES = ("pyodide.http", "pyodide.http.pyxhr")


def refresh_after_restore(shell=None) -> None:
    """Reseed what was seeded at build time, read the time zone again and
    recreate the folders the shell made at build time. Called once the
    worker's start-up imports are done: the names they left in the user's
    namespace are the kernel's, hidden as IPython hides its own at start
    (`%who` and state export skip them)."""
    # the module-level generator behind random.random(), shuffle(), choice()...
    random.seed()
    _refresh_language()
    if hasattr(time, "tzset"):
        time.tzset()
    _drop_repeated_path_entries()
    _bind_browser_globals()
    _refresh_micropip_base_url()
    if shell is None:
        return
    # the shell was made at build time, before these names were bound
    shell.user_ns_hidden.update(shell.user_ns)
    profile = getattr(shell, "profile_dir", None)
    if profile is not None:
        os.makedirs(profile.location, exist_ok=True)
        profile.check_dirs()


def _browser_language() -> str | None:
    """LANG as Emscripten sets it in a browser: navigator.languages[0] with
    `_` for `-`, plus `.UTF-8` (None outside a browser)."""
    try:
        from js import navigator  # looked up now, in the browser's worker
    except ImportError:
        return None
    languages = getattr(navigator, "languages", None)
    first = languages[0] if languages is not None and len(languages) else None
    return f"{str(first or 'C').replace('-', '_', 1)}.UTF-8"


def _refresh_language() -> None:
    """The snapshot's LANG is the build's stand-in (en_US.UTF-8): use the
    browser's own, as the long start would."""
    lang = _browser_language()
    if lang is not None and os.environ.get("LANG") != lang:
        os.environ["LANG"] = lang


def _drop_repeated_path_entries() -> None:
    """Keep the first of each sys.path entry (the snapshot's start added the
    current folder '' twice)."""
    seen: set[str] = set()
    kept = [p for p in sys.path if not (p in seen or seen.add(p))]
    sys.path[:] = kept


def _bind_browser_globals() -> None:
    """Give pyodide.http (open_url, pyxhr) the browser's XMLHttpRequest,
    which Node did not have when the snapshot imported them."""
    try:
        from js import XMLHttpRequest
    except ImportError:
        return
    for name in _XHR_MODULES:
        module = sys.modules.get(name)
        if module is not None and not hasattr(module, "XMLHttpRequest"):
            module.XMLHttpRequest = XMLHttpRequest
    pyxhr = sys.modules.get("pyodide.http.pyxhr")
    if pyxhr is not None and not hasattr(pyxhr, "JsException"):
        from pyodide.ffi import JsException

        pyxhr.JsException = JsException


def _refresh_micropip_base_url() -> None:
    """micropip copied Pyodide's lockfileBaseUrl at import: at build time
    that was the output folder on the build machine. The site's own URL is
    what `micropip.freeze()` and relative wheel names must use."""
    compat = sys.modules.get("micropip._compat._compat_in_pyodide")
    if compat is None:
        return
    try:
        import pyodide_js
    except ImportError:
        return
    url = pyodide_js.lockfileBaseUrl
    compat.lockfileBaseUrl = url
    compat.CompatibilityInPyodide.lockfile_base_url = url
    package = sys.modules.get("micropip._compat")
    if package is not None and hasattr(package, "lockfile_base_url"):
        package.lockfile_base_url = url
