"""Interrupt latency: from `kernel.interrupt()` (what Stop calls) to the
KeyboardInterrupt error on iopub, for each way a cell can block.

    .venv/bin/python bench/interrupt.py                 # build our site, 20 runs per kind
    .venv/bin/python bench/interrupt.py --reuse --runs 5

Three modes, as in the browser tests: `isolated` (served with COOP/COEP),
`service-worker` (served without; the site's service worker isolates the page)
and `plain` (service-worker isolation switched off, no headers: not isolated,
so only an awaited coroutine and a pending input() can be stopped, and only
those are measured). Both ends of the latency are taken in the page, with
performance.now(): no Playwright round trip is in it.
After every run the kernel must still hold a variable set once at the start,
or the script stops: an interrupt must never cost the user their state.
Results go to bench/results/interrupt.json (interrupt-<xmode>.json with --xmode).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import random
import secrets
import textwrap

from common import add_site_arguments, build_our_site, fmt, machine, now, percentile, write_results
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from tests.browser.driver import _KERNEL, CHROMIUM, CHROMIUM_ARGS, LitePage, text_of
from tests.browser.server import SiteServer

# kind -> the cell that blocks; KeyboardInterrupt is a BaseException, so the
# `except Exception` loop must not swallow it
KINDS = {
    "busy loop": "while True: pass",
    "time.sleep": "import time\ntime.sleep(600)",
    "asyncio.sleep": "import asyncio\nawait asyncio.sleep(600)",
    "try/except loop": (
        "while True:\n    try:\n        n = sum(range(100))\n    except Exception:\n        pass"
    ),
    "input()": "input('nobody answers: ')",  # started with stdin=None: no reply is sent
    # a generator (bytecode): `sum(itertools.count())` runs in C alone, where
    # no Stop reaches it, in CPython (Ctrl-C) as in Pyodide
    "sum(count())": "def count():\n    n = 0\n    while True:\n        yield n\n        n += 1\n"
    "sum(count())",
    "print flood": "i = 0\nwhile True:\n    print(i)\n    i += 1",
    "long-line flood": "while True:\n    print('x' * 5000)",
    "tqdm loop": (
        "from tqdm import tqdm\nimport time\nfor i in tqdm(range(10**9)):\n    time.sleep(0.001)"
    ),
    "display flood": "import itertools\nfor i in itertools.count():\n    display(i)",
    # a repr written in Python (as most libraries' are) over a million rows
    "huge repr": (
        "from collections import namedtuple\nRow = namedtuple('Row', 'n square')\n"
        "print([Row(n, n * n) for n in range(1_000_000)])"
    ),
}
# without isolation there is no shared interrupt signal: Stop reaches a cell
# only when it awaits (the worker is free to read the request) or waits for input
PLAIN_KINDS = ["asyncio.sleep", "input()"]
# mode -> (site built with service-worker isolation, served with COOP/COEP, isolated page)
MODES = {
    "isolated": (True, True, True),
    "service-worker": (True, False, True),
    "plain": (False, False, False),
}
GOAL_P95_MS = 50

# Note the page time and call the kernel's interrupt in the same task, so the
# time is taken just before the call (not awaited: the error is waited for below)
INTERRUPT = """(id) => {
  const kernel = KERNEL;
  const run = window.__runs[id];
  run.tInterrupt = performance.now();
  kernel.interrupt().catch((e) => { run.interruptError = String(e); });
}""".replace("KERNEL", _KERNEL)

HAS_ERROR = "(id) => window.__runs[id].iopub.some((m) => m.type === 'error')"

# Every cell is wrapped so the worker notes when Python caught the interrupt,
# as timeOrigin + now() (comparable between page and worker). This splits the
# latency into "the signal reached Python" and "the error message reached the
# page" (formatting the traceback, sending it). KeyboardInterrupt propagates.
WRAPPER = """import js as _bench_js
_bench_caught = None
try:
{body}
except KeyboardInterrupt:
    _bench_caught = _bench_js.performance.timeOrigin + _bench_js.performance.now()
    raise"""


def wrapped(code: str) -> str:
    return WRAPPER.format(body=textwrap.indent(code, "    "))


def open_kernel_with_state(browser, base: str, isolated: bool, xmode: str | None):
    """A REPL page with a started kernel and a variable `x` set once."""
    lite = LitePage(browser.new_context(), base)
    lite.open_repl()
    if lite.isolated != isolated:
        raise SystemExit(f"crossOriginIsolated is {lite.isolated}, expected {isolated}")
    token = f"intact-{secrets.token_hex(4)}"
    lite.execute(f"x = {token!r}")
    if xmode:  # the traceback style decides much of the latency (see README)
        lite.execute(f"%xmode {xmode}")
    return lite, token


@contextlib.contextmanager
def cpu_hogs(count: int):
    """`count` processes that keep a core busy each, for as long as the block
    runs (a loaded laptop: another browser tab, an antivirus scan)."""
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(count)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()


def _spin() -> None:
    while True:
        pass


def interrupt_once(lite: LitePage, code: str, delay_s: float, timeout_ms: int) -> dict:
    """Start the blocking cell, interrupt it after `delay_s`, and return the
    latency to the KeyboardInterrupt error (page clock) and to the reply."""
    run = lite.start(wrapped(code), stdin=None)
    lite.page.wait_for_timeout(delay_s * 1000)
    lite.page.evaluate(INTERRUPT, run.id)
    try:
        lite.page.wait_for_function(HAS_ERROR, arg=run.id, timeout=timeout_ms, polling=20)
        state = run.wait(timeout_ms)
    except PlaywrightTimeoutError:
        state = run.state()
    t_interrupt = state["tInterrupt"] - state["t0"]  # in the run's clock, as the iopub times
    error = next((m for m in state["iopub"] if m["type"] == "error"), None)
    before = [m["type"] for m in state["iopub"] if m["t"] < t_interrupt]
    return {
        "delay_s": round(delay_s, 3),
        "ename": error and error["content"]["ename"],
        "latency_ms": error and round(error["t"] - t_interrupt, 1),
        "reply_ms": state["tReply"] and round(state["tReply"] - t_interrupt, 1),
        "reply_status": state["reply"] and state["reply"].get("status"),
        # did the cell start (or ask for input) before the interrupt came?
        "running_before": "execute_input" in before,
        "input_requested_before": "input_request" in before,
        "interrupt_error": state.get("interruptError"),
        "t_interrupt_epoch_ms": lite.page.evaluate("performance.timeOrigin") + state["tInterrupt"],
    }


def check_state_and_catch_time(lite: LitePage, token: str, run: dict, where: str) -> None:
    """Stop loudly if the kernel lost `x` (restarted, or the interrupt broke
    it); add to `run` how long Python took to catch the interrupt."""
    out = text_of(lite.execute("print(x)\nprint(_bench_caught)", timeout_ms=30_000)).split()
    if not out or out[0] != token:
        raise SystemExit(f"STATE LOST after {where}: printed {out!r}, expected x = {token!r}")
    caught = float(out[1]) if len(out) > 1 and out[1] != "None" else None
    run["caught_ms"] = caught and round(caught - run.pop("t_interrupt_epoch_ms"), 1)


def measured_run(lite: LitePage, token: str, kind: str, where: str, args) -> dict:
    run = interrupt_once(lite, KINDS[kind], random.uniform(0.2, 1.0), args.timeout_ms)
    if run["ename"] != "KeyboardInterrupt":
        raise SystemExit(f"NOT INTERRUPTED: {where}: {run}")
    check_state_and_catch_time(lite, token, run, where)
    return run


def measure_mode(browser, base: str, isolated: bool, kinds: list[str], args, report) -> None:
    """All runs of one serving mode in one page (one kernel, one `x`), into
    `report` as they come (so a failure still leaves the runs before it)."""
    lite, token = open_kernel_with_state(browser, base, isolated, args.xmode)
    try:
        # The kernel's first traceback imports and warms up the formatter: the
        # first Stop of a session is slower. Noted apart, not in the percentiles.
        report["first"] = measured_run(lite, token, kinds[0], "first interrupt", args)
        print(f"  first interrupt ({kinds[0]}): {report['first']['latency_ms']} ms", flush=True)
        for kind in kinds:
            report["kinds"][kind] = []
            for i in range(args.runs):
                run = measured_run(lite, token, kind, f"{kind!r} run {i + 1}", args)
                report["kinds"][kind].append(run)
            print(f"  {kind:16s} {args.runs} runs ok", flush=True)
    finally:
        blocked = lite.blocked
        lite.context.close()
    if blocked:
        raise SystemExit(f"requests left 127.0.0.1: {blocked}")


def summarize(results: dict) -> dict:
    """Percentiles per kind and mode (nearest rank: measured values only)."""
    out = {}
    for mode, report in results.items():
        for kind, runs in report["kinds"].items():
            lat = [r["latency_ms"] for r in runs if r["latency_ms"] is not None]
            if not lat:
                continue
            rep = [r["reply_ms"] for r in runs if r["reply_ms"] is not None]
            caught = [r["caught_ms"] for r in runs if r.get("caught_ms") is not None]
            out[f"{kind} / {mode}"] = {
                "runs": len(runs),
                "p50_ms": percentile(lat, 50),
                "p95_ms": percentile(lat, 95),
                "max_ms": max(lat),
                "not_interrupted": len(runs) - len(lat),
                "caught_p50_ms": percentile(caught, 50),
                "caught_max_ms": max(caught, default=None),
                "reply_p50_ms": percentile(rep, 50),
                "goal_met": percentile(lat, 95) <= GOAL_P95_MS,
            }
    return out


def print_table(summary: dict, results: dict) -> None:
    print("\ninterrupt() -> KeyboardInterrupt error on iopub, ms (page clock)")
    head = f"{'kind / mode':32s} {'n':>3s} {'p50':>6s} {'p95':>6s} {'max':>6s}"
    print(f"{head} {'caught p50':>11s} {'caught max':>11s}")
    for name, s in summary.items():
        goal = "" if s["goal_met"] else f"  p95 > {GOAL_P95_MS} ms"
        print(
            f"{name:32s} {s['runs']:3d} {fmt(s['p50_ms'], 1, 1):>6s} {fmt(s['p95_ms'], 1, 1):>6s}"
            f" {fmt(s['max_ms'], 1, 1):>6s} {fmt(s['caught_p50_ms'], 1, 1):>11s}"
            f" {fmt(s['caught_max_ms'], 1, 1):>11s}{goal}"
        )
    print("(caught: interrupt() -> Python caught KeyboardInterrupt in the worker)")
    for mode, report in results.items():
        first = report.get("first") or {}
        print(f"first interrupt of the {mode} kernel: {first.get('latency_ms')} ms (not counted)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_arguments(ap)
    ap.add_argument("--runs", type=int, default=20, help="runs per kind and mode")
    ap.add_argument("--timeout-ms", type=int, default=10_000, help="wait for the error")
    ap.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    ap.add_argument("--xmode", help="run %%xmode XMODE first (e.g. Minimal); default: as shipped")
    ap.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    ap.add_argument(
        "--load",
        choices=["quiet", "loaded", "both"],
        default="quiet",
        help="loaded: a busy process per core beside the browser, as on a school laptop",
    )
    args = ap.parse_args()

    roots = {sw: build_our_site(args.ours_dir, args.reuse, sw) for sw in (True, False)}
    report = {"date": now(), "machine": machine(), "runs_per_kind": args.runs,
              "xmode": args.xmode, "runs": {}}  # fmt: skip
    loads = ["quiet", "loaded"] if args.load == "both" else [args.load]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for load in loads:
                with cpu_hogs(os.cpu_count() if load == "loaded" else 0):
                    for mode in args.modes:
                        sw_isolation, headers, isolated = MODES[mode]
                        name = mode if load == "quiet" else f"{mode}, loaded"
                        print(f"{name}:", flush=True)
                        kinds = [k for k in args.kinds if isolated or k in PLAIN_KINDS]
                        server = SiteServer(roots[sw_isolation], isolated=headers)
                        report["runs"][name] = {"first": None, "kinds": {}}
                        try:
                            measure_mode(
                                browser, server.base, isolated, kinds, args, report["runs"][name]
                            )
                        finally:
                            server.stop()
            browser.close()
    except SystemExit as failure:
        report["failed"] = str(failure)
        raise
    finally:  # written even after a failure, with the runs that were made
        report["summary"] = summarize(report["runs"])
        name = f"interrupt-{args.xmode.lower()}" if args.xmode else "interrupt"
        print(f"written: {write_results(name, report)}")
    print_table(report["summary"], report["runs"])


if __name__ == "__main__":
    main()
