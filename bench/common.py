"""What both benchmarks share: building the sites, the machine's background
load, small statistics and the results folder.

Importing this module puts the repository root on sys.path, so the scripts can
reuse `tests.browser` (the driver and the server) instead of copying them.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "results"
OUR_LITE_DIR = Path("/tmp/jupyterlite-stream-bench")
STOCK_WORK = Path("/tmp/stock-lite")
STOCK_RECIPE = REPO.parent / "shared" / "recipes" / "build.sh"


# --- the sites -------------------------------------------------------------------
def _run_quietly(cmd: list[str], **kwargs) -> None:
    """Run a build; show its output only when it fails."""
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"build failed ({done.returncode}): {' '.join(cmd)}")


def build_our_site(
    lite_dir: Path = OUR_LITE_DIR,
    reuse: bool = False,
    service_worker_isolation: bool = True,
    early_start: bool = True,
) -> Path:
    """`jupyterlite-stream build` of content/ in a folder holding only the
    repository's jupyter-lite.json (as a teacher would run it); without
    `service_worker_isolation` or `early_start`, with that switched off in
    jupyter-lite.json."""
    name = "default"
    if not service_worker_isolation:
        name = "no-sw-isolation"
    elif not early_start:
        name = "no-early-start"
    lite_dir = lite_dir / name
    out = lite_dir / "_output"
    if reuse and (out / "index.html").exists():
        return out
    lite_dir.mkdir(parents=True, exist_ok=True)
    config = json.loads((REPO / "jupyter-lite.json").read_text())
    plugins = config["jupyter-config-data"].setdefault("litePluginSettings", {})
    if not service_worker_isolation:
        plugins["jupyterlite-stream:isolation"] = {"serviceWorker": False}
    if not early_start:
        plugins["jupyterlite-stream:kernel"] = {"earlyStart": False}
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(config, indent=2))
    _run_quietly(
        [sys.executable, "-m", "jupyterlite_stream.builder.cli", "build",
         "--contents", str(REPO / "content"), "--output-dir", str(out)],
        cwd=lite_dir,
    )  # fmt: skip
    return out


def build_stock_site(work: Path = STOCK_WORK, reuse: bool = False) -> Path:
    """The stock JupyterLite + Pyodide kernel site of the shared recipe."""
    out = work / "_output"
    if reuse and (out / "index.html").exists():
        return out
    env = {**os.environ, "WORK": str(work)}
    _run_quietly(["bash", str(STOCK_RECIPE)], env=env)
    return out


# --- the machine -----------------------------------------------------------------
def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(seconds: float = 0.5) -> float:
    """Share of all CPUs busy over the next `seconds` (0..1)."""
    busy0, total0 = _cpu_times()
    time.sleep(seconds)
    busy1, total1 = _cpu_times()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_for_quiet_cpu(max_busy: float, max_wait_s: float) -> float:
    """Wait (up to max_wait_s) until other processes leave the CPUs mostly idle.

    The machine is shared (other test runs, builds): start-up is CPU-bound, so a
    run that starts while something else computes measures that something.
    Returns the last busy share seen, which goes into the results.
    """
    deadline = time.monotonic() + max_wait_s
    busy = cpu_busy()
    while busy > max_busy and time.monotonic() < deadline:
        busy = cpu_busy(1.0)
    return round(busy, 2)


def _own_cpu_jiffies() -> int:
    """CPU time used so far by this process and its descendants that are alive
    (the Playwright driver, Chromium and all its processes)."""
    parent, used = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        pid = int(stat.parent.name)
        parent[pid], used[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    mine, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        mine.add(pid)
        todo += [child for child, ppid in parent.items() if ppid == pid and child not in mine]
    return sum(used[pid] for pid in mine if pid in used)


class OthersCpu:
    """Share of all CPUs that processes other than ours used between start()
    and stop(): how much the shared machine disturbed one measured run."""

    def start(self) -> None:
        self._busy, self._total = _cpu_times()
        self._own = _own_cpu_jiffies()

    def stop(self) -> float:
        busy, total = _cpu_times()
        others = (busy - self._busy) - (_own_cpu_jiffies() - self._own)
        return round(max(0, others) / max(1, total - self._total), 2)


def machine() -> dict:
    """What the numbers depend on: CPUs, background load, the code measured."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    return {
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "uncommitted_changes": bool(
            git("status", "--porcelain", "--", "labextension/src", "jupyterlite_stream").strip()
        ),
    }


# --- numbers ---------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: a value that was measured, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: list[float]) -> dict:
    """min / median / max of the values that exist."""
    if not values:
        return {"min": None, "median": None, "max": None}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def fmt(value: float | None, scale: float = 1.0, digits: int = 0) -> str:
    return "-" if value is None else f"{value / scale:.{digits}f}"


# --- results ---------------------------------------------------------------------
def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def write_results(name: str, data: dict, key: str | None = None) -> Path:
    """Write bench/results/<name>.json; with `key`, replace only that entry of
    the file (so cold and warm start-up results live side by side)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {**data, "loadavg_at_end": os.getloadavg()}
    if key is not None:
        old = json.loads(path.read_text()) if path.exists() else {}
        data = {**old, key: data}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


# --- the command line ------------------------------------------------------------
def add_site_arguments(ap, stock: bool = False, quiet: bool = False) -> None:
    """The options the benchmarks share: which sites to build or reuse and,
    with `quiet`, how quiet the machine must be before each run."""
    ap.add_argument("--reuse", action="store_true", help="reuse already built sites")
    ap.add_argument("--ours-dir", type=Path, default=OUR_LITE_DIR)
    if stock:
        ap.add_argument("--stock-work", type=Path, default=STOCK_WORK, help="WORK of build.sh")
    if quiet:
        ap.add_argument(
            "--quiet-cpu", type=float, default=0.25, help="max CPU busy share to start"
        )
        ap.add_argument("--quiet-wait-s", type=float, default=60, help="max wait for a quiet CPU")
