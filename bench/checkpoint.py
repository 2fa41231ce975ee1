"""Automatic checkpoints (issue 16): what they cost and how fast they give the
state back, in the notebook app of an isolated page, as a student uses it.

    .venv/bin/python bench/checkpoint.py                 # build our site, then measure
    .venv/bin/python bench/checkpoint.py --reuse --cuts 20

1. Checkpoint time and size for ~1, ~20 and ~100 MB states (random bytes:
   stored, not compressed): from the kernel's console line `checkpoint of
   ... written: B bytes, made in T ms, stored in S ms` (made: the export in
   the worker and the transfer to the page; stored: the IndexedDB write).
2. Restore time after a reload (`restore: "auto"`): from the navigation to
   the state being back (the "restored" notice, then a cell printing a
   restored value), against the plain start of the same page (navigation
   to the kernel idle) with checkpoints off.
3. The delay a cell sees when it cuts a checkpoint short (a ~60 MB state,
   `--cuts` times, at a random point of the export): the worker's figure,
   from the request in the page to the cell's start in the worker (both on
   the epoch clock).
4. How many checkpoints a session of 30 small cells writes, with a
   student's pauses (0.3 to 4 s) between them and the default 1.5 s delay.

Results: bench/results/checkpoint.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time

from common import (
    add_site_arguments,
    build_our_site,
    machine,
    now,
    percentile,
    spread,
    write_results,
)
from playwright.sync_api import sync_playwright

from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS, LitePage, text_of
from tests.browser.notebook import make_notebook

WRITTEN = re.compile(
    r"checkpoint of (\S+) written: (\d+) bytes, made in (\d+) ms, stored in (\d+) ms"
)
CUT = re.compile(r"started ([\d.]+) ms after its request")
SIZES_MB = [1, 20, 100]
SESSION = [
    "x = 1",
    "print(x)",
    "y = [i * i for i in range(100)]",
    "len(y)",
    "def f(n):\n    return n + 1",
    "f(x)",
    "name = 'Ada'",
    "print(name.upper())",
    "scores = {'Ada': 12}",
    "scores['Grace'] = 15",
    "sorted(scores)",
    "total = sum(scores.values())",
    "print(total)",
    "import math",
    "math.sqrt(total)",
    "y.append(5)",
    "y[-1]",
    "x += 1",
    "x",
    "words = 'the quick brown fox'.split()",
    "len(words)",
    "print(words)",
    "class Pupil:\n    pass",
    "p = Pupil()",
    "p.name = 'Ada'",
    "p.name",
    "with open('notes.txt', 'w') as fh:\n    fh.write('hi')",
    "open('notes.txt').read()",
    "del words",
    "print('done')",
]


def new_page(browser, base: str, settings: dict) -> LitePage:
    """A fresh browser profile whose jupyter-lite.json carries `settings`."""
    page = LitePage(browser.new_context(), base)

    def with_settings(route):
        response = route.fetch()
        config = json.loads(response.text())
        data = config.setdefault("jupyter-config-data", {})
        data.setdefault("litePluginSettings", {})["jupyterlite-stream:state"] = settings
        route.fulfill(response=response, body=json.dumps(config))

    page.context.route(f"{base}jupyter-lite.json", with_settings)
    page.page.on("dialog", lambda d: d.accept())
    page.open_repl()
    return page


def wait_console(page: LitePage, pattern: re.Pattern, start: int, timeout_s: float = 300):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in page.console[start:]:
            found = pattern.search(line)
            if found:
                return found
        page.page.wait_for_timeout(50)
    raise SystemExit(f"timed out waiting for {pattern.pattern}: {page.console[-10:]}")


def sizes(browser, base: str) -> list[dict]:
    page = new_page(browser, base, {"maxCheckpointMB": 1000})
    make_notebook(page, "sizes.ipynb", ["import random"])
    page.execute("import random")
    rows = []
    for mb in SIZES_MB:
        start = len(page.console)
        page.execute(f"state = random.randbytes({mb} * 2**20)")
        found = wait_console(page, WRITTEN, start)
        rows.append(
            {
                "state_mb": mb,
                "bytes": int(found.group(2)),
                "made_ms": int(found.group(3)),
                "stored_ms": int(found.group(4)),
            }
        )
        print(f"  {mb:>4} MB: {rows[-1]}")
    page.context.close()
    return rows


def restore_times(browser, base: str, runs: int) -> dict:
    result = {}
    for mb in [1, 20]:
        page = new_page(browser, base, {"restore": "auto", "maxCheckpointMB": 1000})
        make_notebook(page, "back.ipynb", [])
        start = len(page.console)
        page.execute(f"import random\nstate = random.randbytes({mb} * 2**20)\nmark = 42")
        wait_console(page, WRITTEN, start)
        back = []
        for _ in range(runs):
            t0 = time.monotonic()
            page.page.reload()
            page.wait_kernel_idle()
            page.page.locator(".jp-toast-message", has_text="restored").wait_for(timeout=120_000)
            assert text_of(page.execute("print(mark, len(state))")).split()[0] == "42"
            back.append(time.monotonic() - t0)
            page.page.locator(".jp-toast-message").first.wait_for(state="attached")
        page.context.close()
        result[f"{mb}MB"] = spread(back)
        print(f"  reload to state back, {mb} MB: {result[f'{mb}MB']}")
    page = new_page(browser, base, {"checkpoints": False})
    make_notebook(page, "plain.ipynb", [])
    plain = []
    for _ in range(runs):
        t0 = time.monotonic()
        page.page.reload()
        page.wait_kernel_idle()
        assert text_of(page.execute("print(42)")).strip() == "42"
        plain.append(time.monotonic() - t0)
    page.context.close()
    result["plain_start"] = spread(plain)
    print(f"  plain start: {result['plain_start']}")
    return result


def cut_delays(browser, base: str, cuts: int) -> list[float]:
    page = new_page(browser, base, {"checkpointDelayMs": 300, "maxCheckpointMB": 1000})
    make_notebook(page, "cut.ipynb", [])
    page.execute(
        "import random\n" + "\n".join(f"p{i} = random.randbytes(10 * 2**20)" for i in range(6))
    )
    delays: list[float] = []
    tick = 0
    # at a random point of the export (it takes ~0.5 s), not only its start
    offsets = random.Random(16)
    while len(delays) < cuts and tick < cuts * 3:
        tick += 1
        start = len(page.console)
        page.execute(f"tick = {tick}")
        wait_console(page, re.compile("checkpoint of cut.ipynb started"), start)
        page.page.wait_for_timeout(offsets.uniform(0, 400))
        page.execute("pass")
        page.page.wait_for_timeout(200)
        found = [CUT.search(line) for line in page.console[start:]]
        delays += [float(m.group(1)) for m in found if m]
    page.context.close()
    return delays


def session(browser, base: str) -> dict:
    page = new_page(browser, base, {})
    make_notebook(page, "session.ipynb", [])
    start = len(page.console)
    pauses = random.Random(16)
    for code in SESSION:
        page.execute(code)
        page.page.wait_for_timeout(int(pauses.uniform(300, 4000)))
    page.page.wait_for_timeout(3000)
    lines = page.console[start:]
    counts = {
        "cells": len(SESSION),
        "written": sum("written:" in line for line in lines),
        "unchanged": sum("nothing changed" in line for line in lines),
        "cut_short": sum("cut short by a cell" in line for line in lines),
    }
    page.context.close()
    print(f"  30-cell session: {counts}")
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_arguments(ap)
    ap.add_argument("--runs", type=int, default=3, help="reloads per restore measurement")
    ap.add_argument("--cuts", type=int, default=20, help="checkpoints cut short")
    args = ap.parse_args()

    from tests.browser.server import SiteServer

    server = SiteServer(build_our_site(args.ours_dir, args.reuse), isolated=True)
    report = {"started": now(), "machine": machine()}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            report["sizes"] = sizes(browser, server.base)
            report["restore"] = restore_times(browser, server.base, args.runs)
            report["cut_delays_ms"] = cut_delays(browser, server.base, args.cuts)
            cuts = report["cut_delays_ms"]
            report["cut_delay"] = {
                "n": len(cuts),
                "p50": percentile(cuts, 50),
                "p95": percentile(cuts, 95),
                "max": max(cuts, default=None),
            }
            print(f"  cut short (n, p50, p95 ms): {report['cut_delay']}")
            report["session"] = session(browser, server.base)
            browser.close()
    finally:
        server.stop()
    print(f"results: {write_results('checkpoint', report)}")


if __name__ == "__main__":
    main()
