"""State export/import of a ~100 MB kernel state: time and peak memory, in the
browser as a user does it, and the same runtime code under CPython.

    .venv/bin/python bench/state.py                      # build our site, 3 runs
    .venv/bin/python bench/state.py --reuse --runs 1

Each browser run (one isolated notebook page, a fresh kernel per run):
1. build the state in the kernel (STATE: bytes, lists, a big dict; no file);
2. export: click the toolbar's Export Kernel State, time until Playwright has
   the whole downloaded file;
3. restart the kernel (the state is gone), import: click Import Kernel State,
   pick the file in the browser's file picker, time until the preview dialog
   shows; click Restore, time until the "State imported" report shows; then
   check the restored values in the kernel.
Memory: the Pyodide wasm heap (`pyodide._module.HEAP8.length`, read from the
kernel) only grows, so its value after a step is the peak up to then; and the
browser's memory, the sum of PSS of all Chromium processes, sampled every
50 ms during each step (its peak).
The CPython column runs `export_state` (to memory, as the browser does) and
`import_state` (from the file) of the same runtime on the same state, each in
a fresh CPython process (no browser, no page, no copies between threads):
time and peak RSS.

Stock JupyterLite has no state export or import: there is nothing to compare
with. Results: bench/results/state.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

from common import (
    OthersCpu,
    add_site_arguments,
    build_our_site,
    fmt,
    machine,
    now,
    spread,
    wait_for_quiet_cpu,
    write_results,
)
from playwright.sync_api import sync_playwright

from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS, LitePage, errors_of, text_of
from tests.browser.notebook import answer, dialog, make_notebook

MiB = 1024 * 1024

#: ~100 MB when saved: 50 MiB of random bytes (stored, not compressed), two
#: lists and a dict of 300 000 small records (JSON)
STATE = """import os
blob = os.urandom(50 * 2**20)
numbers = [i * 0.5 for i in range(2_000_000)]
words = [f"word{i}" for i in range(1_000_000)]
table = {f"key{i}": {"id": i, "name": f"pupil {i}", "scores": [i % 20, i % 7]}
         for i in range(300_000)}
"""
#: what a restored state must print
CHECK = (
    "print(len(blob), len(numbers), numbers[-1], len(words), words[-1], len(table),"
    " table['key299999']['scores'])"
)
EXPECTED = "52428800 2000000 999999.5 1000000 word999999 300000 [19, 0]"
HEAP = "print(__import__('pyodide_js')._module.HEAP8.length)"  # leaves no name behind

EXPORT_BUTTON = "jp-button[data-command='jupyterlite-stream:export-state']"
IMPORT_BUTTON = "jp-button[data-command='jupyterlite-stream:import-state']"


# --- the browser's memory -------------------------------------------------------
def _descendants(root: int) -> list[int]:
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        children = [c for c, p in parent.items() if p == pid]
        found += children
        todo += children
    return found


def _pss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue  # ended meanwhile
    return total


class PeakPss:
    """Peak of the summed PSS of Chromium's processes (the descendants of this
    process but the Playwright driver's own node process) while it runs."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s, self.peak = interval_s, 0
        self._stop = threading.Event()

    @staticmethod
    def _pids() -> list[int]:
        return [p for p in _descendants(os.getpid()) if "chrom" in _comm(p)]

    @classmethod
    def once(cls) -> int:
        """The summed PSS now."""
        return _pss_bytes(cls._pids())

    def _sample(self) -> None:
        pids = self._pids()
        while not self._stop.is_set():
            self.peak = max(self.peak, _pss_bytes(pids))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakPss:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""


# --- one run in the browser ------------------------------------------------------
def unpacked_size(path) -> int:
    """The state file's entries, uncompressed (what the state weighs saved)."""
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def kernel_print(lite: LitePage, code: str, timeout_ms: int) -> str:
    state = lite.execute(code, timeout_ms=timeout_ms)
    if errors_of(state):
        raise SystemExit(f"{code!r}: {errors_of(state)} {state['iopub'][-1]['content']}")
    return text_of(state).strip()


def heap(lite: LitePage) -> int:
    return int(kernel_print(lite, HEAP, 10_000))


def restart_kernel(lite: LitePage) -> None:
    lite.page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
    lite.page.wait_for_timeout(500)
    lite.wait_kernel_idle()


def browser_run(lite: LitePage, files: Path, timeout_ms: int) -> dict:
    run: dict = {"heap_start": heap(lite)}
    t0 = time.perf_counter()
    kernel_print(lite, STATE, timeout_ms)
    run["build_s"] = round(time.perf_counter() - t0, 2)
    run["heap_state"] = heap(lite)
    run["browser_pss_state"] = PeakPss.once()
    others = OthersCpu()

    # export: the click to the whole file in Playwright's hands
    others.start()
    with PeakPss() as pss:
        t0 = time.perf_counter()
        with lite.page.expect_download(timeout=timeout_ms) as download:
            lite.page.locator(EXPORT_BUTTON).first.click()
        path = Path(download.value.path())  # waits until the download is complete
        run["export_s"] = round(time.perf_counter() - t0, 2)
    run["export_others_cpu"] = others.stop()
    run["browser_pss_export"] = pss.peak
    run["file_bytes"] = path.stat().st_size
    run["data_bytes"] = unpacked_size(path)
    saved = files / "state.zip"
    download.value.save_as(saved)
    run["heap_export"] = heap(lite)
    shown = lite.page.locator(".jp-Dialog")
    if shown.count():  # what could not be saved: listed, not a failure
        run["export_dialog"] = shown.inner_text()
        print(f"  export dialog: {run['export_dialog']!r}", flush=True)
        shown.get_by_role("button").last.click()
        shown.wait_for(state="detached", timeout=10_000)

    # import into a fresh kernel: the click, the picker, the preview, Restore
    restart_kernel(lite)
    run["heap_fresh"] = heap(lite)
    run["browser_pss_fresh"] = PeakPss.once()
    others.start()
    with PeakPss() as pss:
        with lite.page.expect_file_chooser(timeout=10_000) as chooser:
            lite.page.locator(IMPORT_BUTTON).first.click()
        t0 = time.perf_counter()
        chooser.value.set_files(saved)
        preview = dialog(lite, "Import state from", timeout_ms)
        run["preview_s"] = round(time.perf_counter() - t0, 2)
        t1 = time.perf_counter()
        preview.get_by_role("button", name="Restore", exact=True).click()
        report = dialog(lite, "State imported", timeout_ms)
        run["restore_s"] = round(time.perf_counter() - t1, 2)
    run["import_others_cpu"] = others.stop()
    run["import_s"] = round(run["preview_s"] + run["restore_s"], 2)
    run["browser_pss_import"] = pss.peak
    run["report"] = report.inner_text().split("\n")[1]
    answer(report, "Ok")
    run["heap_import"] = heap(lite)
    got = kernel_print(lite, CHECK, timeout_ms)
    if got != EXPECTED:
        raise SystemExit(f"restored state is wrong: {got!r}")
    return run


def browser_runs(args, base: str, files: Path) -> list[dict]:
    runs = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(args.runs):
            busy = wait_for_quiet_cpu(args.quiet_cpu, args.quiet_wait_s)
            lite = LitePage(browser.new_context(accept_downloads=True), base)
            try:
                lite.open_repl()
                make_notebook(lite, "bench-state.ipynb", ["# state benchmark"])
                run = browser_run(lite, files, args.timeout_ms)
            finally:
                lite.context.close()
            if lite.blocked:
                raise SystemExit(f"requests left 127.0.0.1: {lite.blocked}")
            run.update(round=i, cpu_busy_before=busy)
            print(
                f"  run {i}: export {run['export_s']} s, import {run['import_s']} s"
                f" (preview {run['preview_s']} + restore {run['restore_s']}),"
                f" file {run['file_bytes'] / MiB:.0f} MiB,"
                f" heap {run['heap_export'] / MiB:.0f} / {run['heap_import'] / MiB:.0f} MiB",
                flush=True,
            )
            runs.append(run)
        browser.close()
    return runs


# --- the same under CPython ------------------------------------------------------
CPYTHON_EXPORT = """
import io, json, resource, sys, time, zipfile
from jupyterlite_stream.runtime.state import export_state
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = {{"rss_start": rss()}}
ns = {{}}
exec({state!r}, ns)
ns.pop("__builtins__")
out["rss_state"] = rss()
t = time.perf_counter()
report = export_state(namespace=ns, include_files=False, signing_key=None)  # in memory
out["export_s"] = time.perf_counter() - t
out["rss_export"] = rss()
with zipfile.ZipFile(io.BytesIO(report.data)) as archive:
    out["data_bytes"] = sum(info.file_size for info in archive.infolist())
out["file_bytes"] = len(report.data)
with open({path!r}, "wb") as f:
    f.write(report.data)
print(json.dumps(out))
"""
CPYTHON_IMPORT = """
import json, resource, sys, time
from jupyterlite_stream.runtime.state import import_state
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = {{"rss_fresh": rss()}}
ns = {{}}
t = time.perf_counter()
import_state({path!r}, namespace=ns, trust=False, signing_key=None, file_roots=[])
out["import_s"] = time.perf_counter() - t
out["rss_import"] = rss()
assert len(ns["blob"]) == 50 * 2**20 and len(ns["table"]) == 300_000
print(json.dumps(out))
"""


def cpython_run(files: Path) -> dict:
    """Export in one fresh interpreter (to a file), import that file in
    another: ru_maxrss is each process's peak."""
    path = str(files / "cpython-state.zip")
    out = {}
    for script in (CPYTHON_EXPORT, CPYTHON_IMPORT):
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script.format(state=STATE, path=path))],
            capture_output=True,
            text=True,
            check=True,
        )
        out.update(json.loads(done.stdout))
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


# --- report ----------------------------------------------------------------------
def summarize(runs: list[dict], cpython: list[dict]) -> dict:
    keys = [
        "export_s", "preview_s", "restore_s", "import_s", "file_bytes", "data_bytes", "heap_start",
        "heap_state", "heap_export", "heap_fresh", "heap_import", "browser_pss_export",
        "browser_pss_import", "browser_pss_state", "browser_pss_fresh", "build_s",
        "export_others_cpu", "import_others_cpu",
    ]  # fmt: skip
    out = {"browser": {k: spread([r[k] for r in runs]) for k in keys}}
    out["cpython"] = {k: spread([r[k] for r in cpython]) for k in cpython[0]} if cpython else {}
    return out


def print_table(summary: dict, runs: int, cpython_runs: int) -> None:
    b, c = summary["browser"], summary["cpython"]

    def s(entry) -> str:
        low, high = fmt(entry["min"], 1, 2), fmt(entry["max"], 1, 2)
        return f"{fmt(entry['median'], 1, 2)} s ({low}-{high})"

    def m(entry) -> str:
        return f"{fmt(entry['max'], MiB)} MiB"

    def row(label: str, ours: str, cpython: str = "") -> None:
        print(f"{label:36s} {ours:>22s} {cpython:>22s}")

    print(
        f"\nstate: {fmt(b['data_bytes']['median'], MiB)} MiB of data,"
        f" a {fmt(b['file_bytes']['median'], MiB)} MiB file; time: median (min-max) of"
        f" {runs} browser / {cpython_runs} CPython runs; memory: max over runs"
    )
    row("", "browser (ours)", "CPython 3.11")
    row("export: click -> file received", s(b["export_s"]), s(c["export_s"]) if c else "-")
    row("import: file chosen -> preview", s(b["preview_s"]))
    row("import: Restore -> report", s(b["restore_s"]))
    row("import: both", s(b["import_s"]), s(c["import_s"]) if c else "-")
    print("memory: wasm heap (browser), peak RSS (CPython)")
    row("fresh kernel", m(b["heap_start"]), m(c["rss_start"]) if c else "-")
    row("state built", m(b["heap_state"]), m(c["rss_state"]) if c else "-")
    row("after export (peak)", m(b["heap_export"]), m(c["rss_export"]) if c else "-")
    row("restarted kernel", m(b["heap_fresh"]), m(c["rss_fresh"]) if c else "-")
    row("after import (peak)", m(b["heap_import"]), m(c["rss_import"]) if c else "-")
    print("memory: Chromium, all processes (PSS)")
    row("state built", m(b["browser_pss_state"]))
    row("export (peak)", m(b["browser_pss_export"]))
    row("restarted kernel", m(b["browser_pss_fresh"]))
    row("import (peak)", m(b["browser_pss_import"]))
    row("others CPU, export / import", f"{b['export_others_cpu']['max']:.0%} / "
        f"{b['import_others_cpu']['max']:.0%} (max)")  # fmt: skip
    print("Stock JupyterLite has no state export/import: no comparison.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_arguments(ap, quiet=True)
    ap.add_argument("--runs", type=int, default=3, help="browser runs (a fresh page each)")
    ap.add_argument("--cpython-runs", type=int, default=3)
    ap.add_argument("--timeout-ms", type=int, default=300_000, help="per step")
    args = ap.parse_args()

    from tests.browser.server import SiteServer

    server = SiteServer(build_our_site(args.ours_dir, args.reuse), isolated=True)
    report = {"started": now(), "machine": machine(), "state": STATE}
    files = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-state-files"
    files.mkdir(parents=True, exist_ok=True)
    try:
        report["runs"] = browser_runs(args, server.base, files)
    finally:
        server.stop()
    report["cpython_runs"] = [cpython_run(files) for _ in range(args.cpython_runs)]
    report["summary"] = summarize(report["runs"], report["cpython_runs"])
    print_table(report["summary"], args.runs, args.cpython_runs)
    print(f"results: {write_results('state', report)}")


if __name__ == "__main__":
    main()
