"""The early start: a small script written into the pages that start a kernel,
so that on a visit the service worker already controls, the first kernel's
worker boots Pyodide while JupyterLab's bundles still load (about a second
earlier than the kernel plugin could start it; see labextension/src/early.ts,
which is built into `static/early-start.js`).

`"earlyStart": false` in the kernel's `litePluginSettings` leaves the pages as
JupyterLite wrote them.
"""

from __future__ import annotations

import re
from pathlib import Path

SCRIPT = Path(__file__).parent / "static" / "early-start.js"
#: the app pages that start a kernel as soon as they load
APPS = ("lab", "notebooks", "repl", "consoles")
SCRIPT_ID = "jupyterlite-stream-early"
#: the kernel's worker bundle, as the lab extension's chunks name it
WORKER_NAME = re.compile(r"stream\.worker\.[0-9a-f]+\.js")
EXTENSION_STATIC = Path("extensions", "jupyterlite-stream", "static")
CONFIG_SCRIPT = re.compile(r'<script[^>]*id="jupyter-config-data"[^>]*>.*?</script>', re.S)
OUR_SCRIPT = re.compile(rf'\s*<script id="{SCRIPT_ID}"[^>]*>.*?</script>', re.S)


class EarlyStartError(Exception):
    """The early start cannot be written into this site."""


def add_early_start(output: Path) -> list[str]:
    """Write the early start into each app page of `output` (again after a
    rebuild: an older one is replaced); returns the apps that got it."""
    worker = worker_bundle(output)
    code = SCRIPT.read_text(encoding="utf-8")
    if "</script" in code.lower():
        raise EarlyStartError(f"{SCRIPT.name} cannot be inlined: it holds '</script'")
    tag = (
        f'<script id="{SCRIPT_ID}" '
        f'data-worker="../{EXTENSION_STATIC.as_posix()}/{worker}">{code}</script>'
    )
    done = []
    for app, page in _pages(output):
        html = OUR_SCRIPT.sub("", page.read_text(encoding="utf-8"))
        config = CONFIG_SCRIPT.search(html)
        if config is None:
            raise EarlyStartError(f"{app}/index.html has no jupyter-config-data script")
        # after the config script: the early start reads what config-utils writes there
        html = f"{html[: config.end()]}\n    {tag}{html[config.end() :]}"
        page.write_text(html, encoding="utf-8")
        done.append(app)
    return done


def remove_early_start(output: Path) -> None:
    for _app, page in _pages(output):
        html = page.read_text(encoding="utf-8")
        if SCRIPT_ID in html:
            page.write_text(OUR_SCRIPT.sub("", html), encoding="utf-8")


def worker_bundle(output: Path) -> str:
    """The worker file the lab extension's code refers to (a folder copied
    over an older build can hold stale ones)."""
    static = output / EXTENSION_STATIC
    named = set()
    for chunk in sorted(static.glob("*.js")) if static.is_dir() else []:
        named.update(WORKER_NAME.findall(chunk.read_text(encoding="utf-8", errors="replace")))
    present = sorted(name for name in named if (static / name).is_file())
    if len(present) != 1:
        raise EarlyStartError(
            f"expected one kernel worker named in {static}, found {present or 'none'}"
        )
    return present[0]


def _pages(output: Path):
    for app in APPS:
        page = output / app / "index.html"
        if page.is_file():
            yield app, page
