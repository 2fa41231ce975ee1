"""Start-up time: from navigation to the first output "2" of `print(1+1)` in
the REPL app, stock JupyterLite against jupyterlite-stream.

    .venv/bin/python bench/startup.py            # build the sites; cold, warm, offline-warm
    .venv/bin/python bench/startup.py --reuse --modes warm --runs 3

Variants, interleaved run by run so that a slow spell of the shared machine
hits them all alike:
- stock: the stock site, served without COOP/COEP (with them its kernel hangs);
- ours-isolated: our site served with COOP/COEP;
- ours-service-worker: our site served without them: its service worker
  isolates the page, at the cost of one reload on a first visit;
- ours-plain: our site built with that switched off, served without headers
  (not isolated: the fallback of browsers without service workers);
- ours-late-start: as ours-isolated, built with `"earlyStart": false`: the
  kernel's worker starts from JupyterLab's code, not from the HTML page.
Modes (`--modes`, all three by default, each with every variant):
- cold: a fresh browser context per run;
- warm: one browser profile per mode (after a priming round that also waits
  until our service worker holds the site's offline copy), relaunched for
  every run: the second visit;
- offline-warm: the same, with the browser offline (stock cannot open).
Results go to bench/results/startup.json, under the mode's name.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import (
    OthersCpu,
    add_site_arguments,
    build_our_site,
    build_stock_site,
    fmt,
    machine,
    now,
    spread,
    wait_for_quiet_cpu,
    write_results,
)
from playwright.sync_api import BrowserContext, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS
from tests.browser.server import SiteServer
from tests.browser.test_offline import ASK_WORKER

MODES = ["cold", "warm", "offline-warm"]

# name -> (site, served with COOP/COEP, page expected cross-origin isolated)
VARIANTS = {
    "stock": ("stock", False, False),
    "ours-isolated": ("ours", True, True),
    "ours-service-worker": ("ours", False, True),
    "ours-plain": ("ours-no-sw-isolation", False, False),
    "ours-late-start": ("ours-no-early-start", True, True),
}
OURS = [name for name in VARIANTS if name != "stock"]
REPL = "repl/index.html?kernel=python&toolbar=1&code=print(1%2B1)"

# Runs in every document before its own scripts. Times are ms since the tab's
# first navigation started: that start is kept in sessionStorage, which survives
# the one reload of service-worker isolation (performance.now() alone restarts
# at 0 in the new document). Timing in the page leaves Playwright's round trips
# and polling out of the number.
PROBE = """(() => {
  if (window !== window.top) return;
  let t0;
  try {
    t0 = Number(sessionStorage.getItem('bench:t0') || performance.timeOrigin);
    sessionStorage.setItem('bench:t0', String(t0));
  } catch (e) { return; }  // about:blank has no storage
  const sinceFirstNavigation = () => performance.timeOrigin + performance.now() - t0;
  window.__bench = {loadedAtMs: performance.timeOrigin - t0, firstOutputMs: null,
                    sinceFirstNavigation};
  const shown = () => [...document.querySelectorAll('.jp-OutputArea-output')]
      .some((e) => e.textContent.trim() === '2');
  new MutationObserver((_, observer) => {
    if (shown()) { window.__bench.firstOutputMs = sinceFirstNavigation(); observer.disconnect(); }
  }).observe(document, {childList: true, subtree: true, characterData: true});
})()"""

FIRST_OUTPUT = "() => window.__bench && window.__bench.firstOutputMs !== null"

# When the final document fetched the kernel's worker script (= started the kernel)
WORKER_STARTED = """() => {
  const e = performance.getEntriesByType('resource')
      .find((r) => r.initiatorType === 'other' && /worker.*\\.js/.test(r.name));
  return e ? e.startTime + window.__bench.loadedAtMs : null;
}"""

# "[jupyterlite-stream] <phase> after <ms> ms": our worker's start-up phases, in
# ms since the kernel's initialize() began (the worker's own clock)
PHASE_LINE = re.compile(r"\[jupyterlite-stream\] (.+) after (\d+) ms")


def first_output(
    context: BrowserContext, base: str, timeout_s: float, offline: bool = False
) -> dict:
    """Open the REPL with code=print(1+1) and time the first output.

    No request routing here: Playwright's route sends every request through the
    driver (it made cold start ~2 s slower in a trial) and would skew the
    numbers. Offline is still guaranteed by CHROMIUM_ARGS (no host name
    resolves but 127.0.0.1); requests elsewhere are recorded to show it.
    """
    console: list[str] = []
    offsite: list[str] = []

    def note_offsite(request) -> None:
        if not request.url.startswith((base, "data:", "blob:")):
            offsite.append(request.url)

    context.on("request", note_offsite)  # the context also sees the worker's requests
    context.add_init_script(PROBE)
    page = context.pages[0] if context.pages else context.new_page()
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))  # worker lines too
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    context.set_offline(offline)
    t_start = time.monotonic()
    try:
        page.goto(base + REPL)
        page.wait_for_function(FIRST_OUTPUT, timeout=timeout_s * 1000, polling=100)
        ms = page.evaluate("window.__bench.firstOutputMs")
        wall_ms = (time.monotonic() - t_start) * 1000
    except PlaywrightError as err:  # a time-out, or offline without a copy
        console.append(f"failed: {err}".splitlines()[0])
        ms = wall_ms = None
        context.set_offline(False)
        try:
            page.goto("about:blank")
        except PlaywrightError:  # still on its way to the browser's error page
            page.wait_for_timeout(500)
            page.goto("about:blank")
    # after a reload, the phases of the final document's kernel come last and win
    phases = {m[1]: int(m[2]) for m in map(PHASE_LINE.search, console) if m}
    reloaded_at = page.evaluate("window.__bench && window.__bench.loadedAtMs")
    return {
        "ms": None if ms is None else round(ms),
        "wall_ms": None if wall_ms is None else round(wall_ms),  # cross-check, polled
        "reloaded_at_ms": round(reloaded_at) if reloaded_at else None,
        "crossOriginIsolated": page.evaluate("crossOriginIsolated") if ms else None,
        "worker_started_ms": page.evaluate(WORKER_STARTED),
        "phases": phases,
        "offsite_requests": offsite,
        "console": console if ms is None else None,  # only to explain a time-out
    }


def open_context(pw, browser, profile: str | None) -> BrowserContext:
    """A fresh context of the running browser (cold), or the browser relaunched
    on the kept profile (warm: its HTTP cache, code cache, service workers)."""
    if profile is None:
        return browser.new_context()
    return pw.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )


def wait_for_offline_copy(context: BrowserContext, timeout_s: float = 120) -> bool:
    """Until our service worker holds the site (priming a warm profile)."""
    page = context.pages[0]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(f"async () => (await ({ASK_WORKER})('status')).active"):
            return True
        time.sleep(0.5)
    return False


def measure_all(pw, bases: dict, args, mode: str) -> list[dict]:
    """All runs of one mode, interleaved by round (round -1 only primes the
    warm profiles: one per variant, as one student's browser per site)."""
    warm = mode != "cold"
    runs: list[dict] = []
    browser = None if warm else pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    profiles = {n: tempfile.mkdtemp(prefix="bench-profile-") for n in VARIANTS} if warm else {}
    try:
        for round_ in range(-1 if warm else 0, args.runs):
            for name, (_site, _headers, isolated) in VARIANTS.items():
                busy = wait_for_quiet_cpu(args.quiet_cpu, args.quiet_wait_s)
                context = open_context(pw, browser, profiles.get(name))
                others = OthersCpu()
                others.start()
                offline = mode == "offline-warm" and round_ >= 0
                try:
                    run = first_output(context, bases[name], args.timeout_s, offline)
                    others_share = others.stop()  # before close: the renderer still counts
                    if round_ < 0 and name in ("ours-isolated", "ours-service-worker"):
                        print(f"  {name}: offline copy {wait_for_offline_copy(context)}")
                finally:
                    context.close()
                run.update(
                    variant=name, round=round_, cpu_busy_before=busy, others_cpu=others_share
                )
                if run["ms"] is not None and run["crossOriginIsolated"] != isolated:
                    raise SystemExit(
                        f"{name}: crossOriginIsolated is {run['crossOriginIsolated']}"
                    )
                reload = (
                    f", reloaded at {run['reloaded_at_ms']} ms" if run["reloaded_at_ms"] else ""
                )
                print(
                    f"  round {round_:2d} {name:20s} {fmt(run['ms'], 1000, 2):>6s} s{reload}"
                    f"  (CPU busy before: {busy:.0%}, others during: {others_share:.0%})",
                    flush=True,
                )
                if round_ >= 0:
                    runs.append(run)
    finally:
        if browser:
            browser.close()
        for profile in profiles.values():
            shutil.rmtree(profile, ignore_errors=True)
    return runs


def median_of(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs: list[dict]) -> dict:
    """Per variant: the times, their spread, time-outs, and phase medians."""
    out = {}
    for name in VARIANTS:
        mine = [r for r in runs if r["variant"] == name]
        phase_names = dict.fromkeys(p for r in mine for p in r["phases"])  # in order seen
        out[name] = {
            "ms": [r["ms"] for r in mine],
            **spread([r["ms"] for r in mine if r["ms"] is not None]),
            "timed_out": sum(r["ms"] is None for r in mine),
            "reloads": sum(bool(r["reloaded_at_ms"]) for r in mine),
            "reloaded_at_ms_median": median_of(r["reloaded_at_ms"] for r in mine),
            "worker_started_ms_median": median_of(r["worker_started_ms"] for r in mine),
            "phases_ms_median": {
                p: median_of(r["phases"].get(p) for r in mine) for p in phase_names
            },
            "others_cpu_median": median_of(r["others_cpu"] for r in mine),
            "offsite_requests": sorted({u for r in mine for u in r["offsite_requests"]}),
        }
    stock = out["stock"]["median"]
    for name in OURS:
        ours = out[name]["median"]
        out[name]["median_ratio_to_stock"] = round(ours / stock, 2) if ours and stock else None
    return out


def print_tables(summary: dict, mode: str, runs: int) -> None:
    print(f'\n{mode} start-up, navigation -> first output "2" (s), {runs} runs each')
    print(
        f"{'variant':20s} {'min':>6s} {'median':>7s} {'max':>6s} {'ours/stock':>11s}"
        f" {'timed out':>9s} {'others CPU':>10s}"
    )
    for name, s in summary.items():
        ratio = s.get("median_ratio_to_stock")
        print(
            f"{name:20s} {fmt(s['min'], 1000, 2):>6s} {fmt(s['median'], 1000, 2):>7s}"
            f" {fmt(s['max'], 1000, 2):>6s} {fmt(ratio, 1, 2) if ratio else '':>11s}"
            f" {s['timed_out']:9d} {s['others_cpu_median']:10.0%}"
        )
    print("(others CPU: median share of all CPUs that other processes used during a run)")

    print("\nour kernel's phases, median ms: (page) rows since navigation, others on")
    print("the worker's clock since kernel start")
    names = [n.removeprefix("ours-") for n in OURS]
    print(f"{'phase':24s} " + " ".join(f"{n:>14s}" for n in names))

    def row(label: str, values) -> None:
        print(f"{label:24s} " + " ".join(f"{fmt(v):>14s}" for v in values))

    row("(page) reload", [summary[n]["reloaded_at_ms_median"] for n in OURS])
    row("(page) worker started", [summary[n]["worker_started_ms_median"] for n in OURS])
    for phase in summary["ours-isolated"]["phases_ms_median"]:
        row(phase, [summary[n]["phases_ms_median"].get(phase) for n in OURS])
    row("(page) first output", [summary[n]["median"] for n in OURS])
    offsite = {u for s in summary.values() for u in s["offsite_requests"]}
    print(f"\nrequests that tried to leave 127.0.0.1: {sorted(offsite) or 'none'}")


def build_sites(args) -> dict[str, Path]:
    return {
        "ours": build_our_site(args.ours_dir, args.reuse),
        "ours-no-sw-isolation": build_our_site(args.ours_dir, args.reuse, False),
        "ours-no-early-start": build_our_site(args.ours_dir, args.reuse, early_start=False),
        "stock": build_stock_site(args.stock_work, args.reuse),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_arguments(ap, stock=True, quiet=True)
    ap.add_argument("--runs", type=int, default=5, help="measured runs per variant")
    ap.add_argument("--modes", nargs="+", choices=MODES, default=MODES)
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--timeout-s", type=float, default=180)
    args = ap.parse_args()

    for name in [n for n in VARIANTS if n not in args.variants and n != "stock"]:
        del VARIANTS[name]
        OURS.remove(name)
    roots = build_sites(args)
    servers = {
        name: SiteServer(roots[site], isolated=headers)
        for name, (site, headers, _isolated) in VARIANTS.items()
    }
    try:
        with sync_playwright() as pw:
            for mode in args.modes:
                started, machine_info = now(), machine()
                print(f"{mode}:", flush=True)
                runs = measure_all(pw, {n: s.base for n, s in servers.items()}, args, mode)
                summary = summarize(runs)
                print_tables(summary, mode, args.runs)
                path = write_results(
                    "startup",
                    {"date": started, "machine": machine_info, "runs_per_variant": args.runs,
                     "summary": summary, "runs": runs},
                    key=mode,
                )  # fmt: skip
                print(f"written: {path}")
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
