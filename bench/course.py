"""Course notebooks, ours against stock: every notebook of the course-style
corpus (tests/browser/corpus/) run cell by cell in a fresh kernel of our site
and of the stock JupyterLite + Pyodide kernel site, outcomes compared.

Prints, per notebook, how many cells give the same outcome, how many succeed
in ours where stock fails, and lists any cell where ours is worse. Records
stock's outcomes in tests/browser/corpus/stock-outcomes.json, which the CI
test (tests/browser/test_corpus.py) holds our kernel to.

    python bench/course.py [--reuse]
"""

from __future__ import annotations

import argparse
import json

from common import (
    add_site_arguments,
    build_our_site,
    build_stock_site,
    machine,
    now,
    write_results,
)
from playwright.sync_api import sync_playwright

from tests.browser.course_corpus import (
    STOCK_OUTCOMES,
    compare,
    notebooks,
    run_notebook,
    serve_data_files,
)
from tests.browser.driver import CHROMIUM, CHROMIUM_ARGS, LitePage
from tests.browser.server import SiteServer


def run_corpus(browser, site, isolated: bool) -> dict[str, list[dict]]:
    serve_data_files(site)
    server = SiteServer(site, isolated=isolated)
    page = LitePage(browser.new_context(), server.base)
    try:
        return {nb.name: run_notebook(page, nb) for nb in notebooks()}
    finally:
        page.context.close()
        server.stop()
        if page.blocked:
            print(f"requests that left 127.0.0.1 (blocked): {page.blocked}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_site_arguments(ap, stock=True)
    args = ap.parse_args()
    ours_site = build_our_site(args.ours_dir, args.reuse)
    stock_site = build_stock_site(args.stock_work, args.reuse)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # stock's kernel hangs with COOP/COEP: it is served as its docs say
        stock = run_corpus(browser, stock_site, isolated=False)
        ours = run_corpus(browser, ours_site, isolated=True)
        browser.close()
    STOCK_OUTCOMES.write_text(json.dumps(stock, indent=1, ensure_ascii=False) + "\n")
    report = {name: compare(name, ours[name], stock[name]) for name in ours}
    columns = ("cells", "equal", "better", "known")
    print(f"{'notebook':32s}" + "".join(f"{c:>7s}" for c in (*columns, "worse")))
    for name, c in report.items():
        print(f"{name:32s}" + "".join(f"{c[k]:7d}" for k in columns) + f"{len(c['worse']):7d}")
    total = {k: sum(c[k] for c in report.values()) for k in columns}
    worse = [dict(w, notebook=n) for n, c in report.items() for w in c["worse"]]
    print(f"{'all':32s}" + "".join(f"{total[k]:7d}" for k in columns) + f"{len(worse):7d}")
    for w in worse:
        print(f"WORSE {w['notebook']} cell {w['cell']}:")
        print(f"  ours:  {w['ours']}\n  stock: {w['stock']}")
    write_results("course", {"when": now(), "machine": machine(), **total, "worse": worse})


if __name__ == "__main__":
    main()
