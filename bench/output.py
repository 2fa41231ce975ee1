"""Output streaming: `for i in range(100_000): print(i)` in our kernel and in
the stock JupyterLite kernel, side by side in one run.

    .venv/bin/python bench/output.py                 # build our site, 3 runs each
    .venv/bin/python bench/output.py --reuse --runs 5

Each run measures:
- kernel: the 100 000-line cell as an execute request straight to the kernel
  (no output area): the time until its reply (the kernel is idle and the page
  holds every message) and the number of stream messages. The text must
  arrive whole and in order.
- rendered: a 10 000-line cell run from the REPL's prompt, so JupyterLab
  renders what comes: the time until the cell is done and the page paints
  again. Fewer lines: the stock page's rendering grows with the square of its
  messages (20 000 lines took it 200 s), 100 000 would take over an hour.
Our site is served with COOP/COEP, the stock one without (with the headers
its kernel hangs, see shared/recipes/README.md). The stock site is the shared
recipe's. Before each run the script waits for a quiet CPU and records what
share other processes used (as startup.py). Goal: our time to idle at most
0.2x the stock one. Results go to bench/results/output.json.
"""

from __future__ import annotations

import argparse
import statistics

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
from playwright.sync_api import sync_playwright

from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS, LitePage, text_of
from tests.browser.server import SiteServer

LINES = 100_000
RENDERED_LINES = 10_000


def print_loop(lines: int) -> tuple[str, str]:
    """The cell that prints `lines` numbers, and the text it must print."""
    return f"for i in range({lines:_}):\n    print(i)\n", "".join(f"{i}\n" for i in range(lines))


CELL, EXPECTED = print_loop(LINES)
GOAL_RATIO = 0.2

# Run a cell from the REPL's prompt (as Shift+Enter), then wait for the next
# painted frame: until then the page is busy rendering and does not respond
RUN_RENDERED = """async (code) => {
  const console_ = window.jupyterapp.shell.currentWidget.console;
  console_.clear();
  console_.promptCell.model.sharedModel.setSource(code);
  const t0 = performance.now();
  await window.jupyterapp.commands.execute('console:run-forced');
  const doneMs = performance.now() - t0;
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const paintedMs = performance.now() - t0;
  const cell = console_.cells.get(console_.cells.length - 1);
  const text = cell.model.outputs.toJSON()
    .filter((o) => o.output_type === 'stream')
    .map((o) => Array.isArray(o.text) ? o.text.join('') : o.text).join('');
  return {doneMs, paintedMs, text};
}"""


def kernel_run(lite: LitePage, timeout_ms: int) -> dict:
    state = lite.execute(CELL, timeout_ms=timeout_ms)
    streams = [m for m in state["iopub"] if m["type"] == "stream"]
    if text_of(state) != EXPECTED:
        raise SystemExit("INCOMPLETE OUTPUT: the lines did not all arrive in order")
    return {"idle_ms": round(state["tReply"]), "stream_messages": len(streams)}


def rendered_run(lite: LitePage) -> dict:
    cell, expected = print_loop(RENDERED_LINES)
    result = lite.page.evaluate(RUN_RENDERED, cell)
    if result["text"] != expected:
        raise SystemExit("INCOMPLETE RENDERED OUTPUT: the lines did not all arrive in order")
    return {"done_ms": round(result["doneMs"]), "painted_ms": round(result["paintedMs"])}


def measure_site(browser, name: str, base: str, args) -> dict:
    lite = LitePage(browser.new_context(), base)
    lite.page.set_default_timeout(args.timeout_ms)
    try:
        lite.open_repl()
        lite.execute("print('warm up')")
        runs = []
        for i in range(args.runs):
            busy_before = wait_for_quiet_cpu(args.quiet_cpu, args.quiet_wait_s)
            others = OthersCpu()
            others.start()
            run = kernel_run(lite, args.timeout_ms)
            if not args.no_render:
                run.update(rendered_run(lite))
            run.update(busy_before=busy_before, others_cpu=others.stop())
            runs.append(run)
            print(f"  {name} run {i + 1}: {run}", flush=True)
    finally:
        blocked = lite.blocked
        lite.context.close()
    if blocked:
        raise SystemExit(f"requests left 127.0.0.1: {blocked}")
    return {"isolated": name == "ours", "runs": runs}


def summarize(results: dict) -> dict:
    def median_of(site: str, key: str):
        values = [r[key] for r in results[site]["runs"] if key in r]
        return statistics.median(values) if values else None

    summary = {
        site: {
            key: spread([r[key] for r in results[site]["runs"] if key in r])
            for key in ("idle_ms", "stream_messages", "done_ms", "painted_ms")
        }
        for site in results
    }
    ratio = median_of("ours", "idle_ms") / median_of("stock", "idle_ms")
    summary["ratio_idle_ours_to_stock"] = round(ratio, 3)
    stock_painted = median_of("stock", "painted_ms")
    if stock_painted:
        ours_painted = median_of("ours", "painted_ms")
        summary["ratio_painted_ours_to_stock"] = round(ours_painted / stock_painted, 3)
    summary["goal_met"] = ratio <= GOAL_RATIO
    return summary


def seconds_range(values: dict) -> str:
    """`median [min-max]` of millisecond values, in seconds."""
    low, mid, high = (fmt(values[k], 1000, 2) for k in ("min", "median", "max"))
    return f"{mid} [{low}-{high}]"


def print_table(summary: dict) -> None:
    print(f"\n`{CELL.strip()}` ({LINES} lines), median [min-max] over runs")
    rendered = f"{RENDERED_LINES} lines rendered, s"
    print(f"{'site':6s} {'to idle, s':>22s} {'stream msgs':>12s} {rendered:>26s}")
    for site in ("ours", "stock"):
        s = summary[site]
        msgs = fmt(s["stream_messages"]["median"])
        idle, painted = seconds_range(s["idle_ms"]), seconds_range(s["painted_ms"])
        print(f"{site:6s} {idle:>22s} {msgs:>12s} {painted:>26s}")
    goal = "met" if summary["goal_met"] else "NOT met"
    print(
        f"ours/stock time to idle: {summary['ratio_idle_ours_to_stock']}"
        f" (goal <= {GOAL_RATIO}: {goal})"
    )
    if "ratio_painted_ours_to_stock" in summary:
        print(f"ours/stock rendered: {summary['ratio_painted_ours_to_stock']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_arguments(ap, stock=True, quiet=True)
    ap.add_argument("--runs", type=int, default=3, help="runs per site")
    ap.add_argument("--no-render", action="store_true", help="skip the rendered measure")
    ap.add_argument("--timeout-ms", type=int, default=600_000, help="per cell")
    args = ap.parse_args()

    sites = {
        "ours": (build_our_site(args.ours_dir, args.reuse), True),
        "stock": (build_stock_site(args.stock_work, args.reuse), False),
    }
    report = {"started": now(), "machine": machine(), "cell": CELL, "sites": {}}
    servers = {name: SiteServer(out, isolated=iso) for name, (out, iso) in sites.items()}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, server in servers.items():
                report["sites"][name] = measure_site(browser, name, server.base, args)
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
    report["summary"] = summarize(report["sites"])
    print_table(report["summary"])
    print(f"results: {write_results('output', report)}")


if __name__ == "__main__":
    main()
