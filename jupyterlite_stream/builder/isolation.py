"""Cross-origin isolation on hosts that cannot send headers: the built site's
service worker becomes ours, which adds the headers and loads JupyterLite's."""

from __future__ import annotations

import shutil
from pathlib import Path

SERVICE_WORKER = "service-worker.js"
#: where JupyterLite's own worker goes; ours imports it by this name
JUPYTERLITE_SERVICE_WORKER = "service-worker-jupyterlite.js"
OUR_SERVICE_WORKER = Path(__file__).parent / "static" / SERVICE_WORKER
MARKER = "jupyterlite-stream's service worker"


def install_isolation_worker(output_dir: Path) -> None:
    """Put our service worker in place of JupyterLite's (kept beside it)."""
    current = output_dir / SERVICE_WORKER
    if not current.exists():
        raise FileNotFoundError(f"{current} is missing: was the site built by jupyter lite?")
    if MARKER not in current.read_text(encoding="utf-8"):
        shutil.copy2(current, output_dir / JUPYTERLITE_SERVICE_WORKER)
    shutil.copy2(OUR_SERVICE_WORKER, current)


def remove_isolation_worker(output_dir: Path) -> None:
    """Give JupyterLite its own worker back (isolation switched off)."""
    kept = output_dir / JUPYTERLITE_SERVICE_WORKER
    if kept.exists():
        shutil.move(kept, output_dir / SERVICE_WORKER)
