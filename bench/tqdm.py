"""tqdm line mode: what a bar costs a 1e6-iteration loop in our kernel, and
how many messages it sends.

    .venv/bin/python bench/tqdm.py                   # build our site, 5 runs each
    .venv/bin/python bench/tqdm.py --reuse --runs 3

The same loop runs three ways in one kernel (isolated page):
- bare: `for i in range(N): pass`;
- tqdm to memory: `tqdm(range(N), file=io.StringIO())`, tqdm drawing its
  terminal line into memory: the cost of tqdm itself;
- line mode: `tqdm(range(N))`, the bar as one output line (the default).
The loop is timed in Python (perf_counter); the page counts the bar's
display messages until the reply. Goal: line mode costs little more than tqdm
itself (ratio to "tqdm to memory" near 1). Results: bench/results/tqdm.json.

(Named after what it measures; nothing in this process imports tqdm, which
this file would shadow.)
"""

from __future__ import annotations

import argparse
import statistics

from common import add_site_arguments, build_our_site, fmt, machine, now, spread, write_results
from playwright.sync_api import sync_playwright

from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS, LitePage, errors_of, text_of
from tests.browser.server import SiteServer

N = 1_000_000
LOOPS = {
    "bare": "range(N)",
    "tqdm to memory": "tqdm(range(N), file=io.StringIO())",
    "line mode": "tqdm(range(N))",
}
CELL = """import io, time
from tqdm import tqdm
N = {n}
_t = time.perf_counter()
for i in {iterable}:
    pass
print(time.perf_counter() - _t)
"""
LINE_MESSAGES = ("display_data", "update_display_data")
#: "little more than tqdm itself"
GOAL_RATIO = 1.2


def run_loop(lite: LitePage, kind: str, timeout_ms: int) -> dict:
    state = lite.execute(CELL.format(n=N, iterable=LOOPS[kind]), timeout_ms=timeout_ms)
    if errors_of(state):
        raise SystemExit(f"{kind}: {errors_of(state)}")
    loop_s = float(text_of(state).split()[-1])
    messages = sum(1 for m in state["iopub"] if m["type"] in LINE_MESSAGES)
    streams = sum(1 for m in state["iopub"] if m["type"] == "stream")
    return {
        "loop_s": round(loop_s, 4),
        "reply_ms": round(state["tReply"]),
        "line_messages": messages,
        "line_messages_per_s": round(messages / loop_s, 1),
        "stream_messages": streams,
    }


def measure(browser, base: str, args) -> dict:
    lite = LitePage(browser.new_context(), base)
    try:
        lite.open_repl()
        if not lite.isolated:
            raise SystemExit("the page is not cross-origin isolated")
        for kind in LOOPS:  # warm up: imports, first traceback-free run of each
            run_loop(lite, kind, args.timeout_ms)
        results = {kind: [] for kind in LOOPS}
        for i in range(args.runs):  # interleaved, so load changes hit every kind alike
            for kind in LOOPS:
                results[kind].append(run_loop(lite, kind, args.timeout_ms))
            print(f"  run {i + 1}: " + ", ".join(
                f"{k} {results[k][-1]['loop_s']} s" for k in LOOPS), flush=True)  # fmt: skip
    finally:
        blocked = lite.blocked
        lite.context.close()
    if blocked:
        raise SystemExit(f"requests left 127.0.0.1: {blocked}")
    return results


def summarize(results: dict) -> dict:
    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    summary = {
        kind: {key: spread([r[key] for r in runs]) for key in runs[0]}
        for kind, runs in results.items()
    }
    line = median("line mode", "loop_s")
    tqdm_itself = median("tqdm to memory", "loop_s")
    bare = median("bare", "loop_s")
    summary["ratio_line_to_tqdm_itself"] = round(line / tqdm_itself, 3)
    summary["ratio_line_to_bare"] = round(line / bare, 1)
    summary["goal_met"] = line / tqdm_itself <= GOAL_RATIO
    return summary


def print_table(summary: dict) -> None:
    print(f"\n{N:_} iterations, median [min-max] over runs")
    head = f"{'loop':16s} {'loop, s':>22s} {'to reply, s':>8s} {'line msgs':>10s}"
    print(f"{head} {'msgs/s':>7s} {'streams':>8s}")
    for kind in LOOPS:
        s = summary[kind]
        loop = s["loop_s"]
        print(
            f"{kind:16s} {fmt(loop['median'], 1, 3):>8s} [{fmt(loop['min'], 1, 3)}"
            f"-{fmt(loop['max'], 1, 3)}] {fmt(s['reply_ms']['median'], 1000, 2):>8s}"
            f" {fmt(s['line_messages']['median']):>10s}"
            f" {fmt(s['line_messages_per_s']['median'], 1, 1):>7s}"
            f" {fmt(s['stream_messages']['median']):>8s}"
        )
    goal = "met" if summary["goal_met"] else "NOT met"
    print(
        f"line mode / tqdm itself: {summary['ratio_line_to_tqdm_itself']}"
        f" (goal <= {GOAL_RATIO}: {goal}); line mode / bare loop:"
        f" {summary['ratio_line_to_bare']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_arguments(ap)
    ap.add_argument("--runs", type=int, default=5, help="runs of each loop")
    ap.add_argument("--timeout-ms", type=int, default=300_000, help="per cell")
    args = ap.parse_args()

    server = SiteServer(build_our_site(args.ours_dir, args.reuse), isolated=True)
    report = {"started": now(), "machine": machine(), "iterations": N, "loops": LOOPS}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            report["runs"] = measure(browser, server.base, args)
            browser.close()
    finally:
        server.stop()
    report["summary"] = summarize(report["runs"])
    print_table(report["summary"])
    print(f"results: {write_results('tqdm', report)}")


if __name__ == "__main__":
    main()
