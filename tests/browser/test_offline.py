"""Offline after the first visit (issue 18): the service worker keeps the whole
build in Cache Storage, a new build takes over as one unit only once the user
accepts it, a setting turns the cache off, Clear Browser Data drops it.

These tests build their own small site (twice: build A, then build B with a
changed content file and a changed JS bundle) and serve it through a symlink,
so that "the teacher rebuilt the site" is one switch of the link; the shared
`site` fixture is not touched. Requests that leave 127.0.0.1 are recorded, not
routed (see LitePage): the test fails on any.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyterlite_stream.builder.offline import MANIFEST, OFFLINE_PLUGIN_ID, write_manifest

from .conftest import REPO
from .driver import LitePage, closing_pages, errors_of, text_of
from .notebook import make_notebook, run_all
from .server import SiteServer
from .test_tqdm import run_in_console

NOTEBOOK = "offline-check.ipynb"
CELLS = ["numbers = [n * n for n in range(5)]", "print('sum', sum(numbers))"]

# ask the site's service worker, as the page's offline plugin does
ASK_WORKER = """async (type) => {
  const reg = await navigator.serviceWorker.ready;
  const worker = navigator.serviceWorker.controller || reg.active;
  const channel = new MessageChannel();
  return await new Promise((resolve) => {
    channel.port1.onmessage = (e) => resolve(e.data);
    worker.postMessage({type: 'jupyterlite-stream:' + type}, [channel.port2]);
  });
}"""
OUR_CACHES = "async () => (await caches.keys()).filter(n => n.startsWith('jupyterlite-stream'))"
# what the offline copy holds for a file of the build
STORED = """async (url) => {
  const names = (await caches.keys()).filter(n => n.includes('-build-'));
  const hit = await (await caches.open(names[0])).match(url);
  const bytes = new Uint8Array(await hit.arrayBuffer());
  return {coep: hit.headers.get('cross-origin-embedder-policy'),
          corp: hit.headers.get('cross-origin-resource-policy'),
          start: [bytes[0], bytes[1]], size: bytes.length};
}"""
FETCH_TEXT = "async (url) => await (await fetch(url)).text()"


def build(lite_dir: Path, contents: Path, out: Path) -> Path:
    command = [sys.executable, "-m", "jupyterlite_stream.builder.cli", "build"]
    command += ["--contents", str(contents), "--output-dir", str(out)]
    subprocess.run(command, cwd=lite_dir, check=True, stdout=subprocess.DEVNULL)
    return out


def bundle_of(out: Path) -> str:
    """Our lab extension's entry bundle, which every page loads."""
    found = sorted(out.glob("extensions/jupyterlite-stream/static/remoteEntry.*.js"))
    assert found, "no remoteEntry of jupyterlite-stream in the build"
    return found[0].relative_to(out).as_posix()


def mark(out: Path, label: str) -> None:
    """Put `label` into a JS bundle of the build, and write the manifest again
    as the build's last step does."""
    path = out / bundle_of(out)
    path.write_text(path.read_text() + f"\n/* offline-test {label} */\n")
    write_manifest(out, out / "static" / "pyodide" / "pyodide-lock.json")


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    """Build A, build B (content and bundle changed), and A with the cache
    switched off in jupyter-lite.json."""
    root = tmp_path_factory.mktemp("offline")
    contents = root / "contents"
    contents.mkdir()
    shutil.copy(REPO / "content" / "welcome.ipynb", contents)
    built = {}
    for name in ("a", "b"):
        # one lite folder per build: a second build in the same folder with
        # another output folder skips jupyter-lite.json's settings (doit state)
        lite = root / f"lite-{name}"
        lite.mkdir()
        shutil.copy(REPO / "jupyter-lite.json", lite)
        (contents / "marker.txt").write_text(f"content of build {name.upper()}\n")
        built[name] = build(lite, contents, root / name)
        mark(built[name], f"bundle of build {name.upper()}")
    a, b = built["a"], built["b"]
    off = root / "off"
    shutil.copytree(a, off, symlinks=True)
    config = json.loads((off / "jupyter-lite.json").read_text())
    plugins = config["jupyter-config-data"].setdefault("litePluginSettings", {})
    plugins[OFFLINE_PLUGIN_ID] = {"cache": False}
    (off / "jupyter-lite.json").write_text(json.dumps(config))
    write_manifest(off, off / "static" / "pyodide" / "pyodide-lock.json")
    link = root / "served"
    link.symlink_to(a)
    return {"a": a, "b": b, "off": off, "link": link}


@pytest.fixture(scope="module")
def server(builds):
    started = SiteServer(builds["link"], isolated=True)
    yield started
    started.stop()


@pytest.fixture
def serve(builds):
    """Switch what the server serves: "a", "b" or "off"."""

    def switch(name: str) -> None:
        builds["link"].unlink()
        builds["link"].symlink_to(builds[name])

    switch("a")
    yield switch
    switch("a")


@pytest.fixture
def visitor(browser, server):
    """A new browser profile (context) on the offline site."""

    def new_page() -> LitePage:
        return LitePage(browser.new_context(accept_downloads=True), server.base, route=False)

    with closing_pages(new_page) as make:
        yield make


def wait_until(page: LitePage, script: str, arg=None, timeout_s: float = 120) -> None:
    """Until an async page function returns true (wait_for_function does not
    wait for a promise)."""
    deadline = time.monotonic() + timeout_s
    while not page.page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {script}"
        page.page.wait_for_timeout(500)


def wait_for_copy(page: LitePage, build: str) -> None:
    """Until the worker holds `build` completely (the page asked it to)."""
    wait_until(page, f"async (b) => (await ({ASK_WORKER})('status')).active === b", build)


def build_id(out: Path) -> str:
    return json.loads((out / MANIFEST).read_text())["build"]


def test_manifest_lists_every_file_a_visit_loads(builds, server, visitor, serve):
    page = visitor()
    page.open_repl()
    wait_for_copy(page, build_id(builds["a"]))
    files = json.loads((builds["a"] / MANIFEST).read_text())["files"]
    loaded = page.page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name).concat([location.href])"
    )
    site = [u.split("?")[0].removeprefix(server.base) for u in loaded if u.startswith(server.base)]
    site = [p + "index.html" if p.endswith("/") or p == "" else p for p in site]
    # every file the visit loaded that the build has (not the browser's own
    # /favicon.ico, which the site does not have)
    missing = [p for p in site if p not in files and (builds["a"] / p).is_file()]
    assert missing == []
    assert "static/pyodide/kernel-snapshot.bin.gz" in files
    assert "api/contents/all.json" in files


def test_works_offline_after_one_visit(builds, server, visitor, serve):
    page = visitor()
    page.open_repl()
    make_notebook(page, NOTEBOOK, CELLS)  # stored in the browser
    wait_for_copy(page, build_id(builds["a"]))

    page.context.set_offline(True)
    served_before = len(server.served)
    page.open_repl()
    assert page.isolated
    assert text_of(page.execute("print(6 * 7)")) == "42\n"
    # Stop
    page.execute("kept = 'still here'")
    run = page.start("while True:\n    pass")
    page.page.wait_for_timeout(800)
    page.interrupt()
    assert errors_of(run.wait(10_000)) == ["KeyboardInterrupt"]
    assert text_of(page.execute("print(kept)")) == "still here\n"
    # tqdm, from the bundled wheels
    shown = run_in_console(page, "from tqdm import tqdm\nfor i in tqdm(range(3)):\n    pass")
    assert "3/3" in "".join(shown)

    # the notebook stored in the browser, and state export
    page.open_notebook(NOTEBOOK)
    run_all(page)
    outputs = page.page.locator(".jp-OutputArea-output").all_inner_texts()
    assert "sum 30" in "".join(outputs)
    with page.page.expect_download() as download:
        page.page.locator("jp-button[data-command='jupyterlite-stream:export-state']").click()
    assert download.value.suggested_filename.endswith(".zip")
    # the copy is stored ready to serve as it is: the isolation headers in
    # it, the start-up snapshot unpacked once (the kernel reads either form)
    snapshot = "static/pyodide/kernel-snapshot.bin.gz"
    stored = page.page.evaluate(STORED, server.base + snapshot)
    assert stored["coep"] == "credentialless" and stored["corp"] == "same-origin"
    packed = json.loads((builds["a"] / MANIFEST).read_text())["files"][snapshot]["size"]
    assert stored["start"] != [0x1F, 0x8B] and stored["size"] > 2 * packed
    # nothing reached the server but the browser's own update check of the
    # worker script (which Playwright's offline mode lets through)
    reached = [p for p in server.served[served_before:] if not p.startswith("/service-worker")]
    assert reached == []


def test_a_new_build_takes_over_as_one_unit_after_accepting(builds, server, visitor, serve):
    page = visitor()
    page.open_notebook("welcome.ipynb")
    wait_for_copy(page, build_id(builds["a"]))
    bundle = server.base + bundle_of(builds["a"])
    marker = server.base + "files/marker.txt"

    def seen() -> tuple[str, str]:
        js = page.page.evaluate(FETCH_TEXT, bundle)
        return ("A" if "bundle of build A" in js else "B" if "bundle of build B" in js else "?",
                page.page.evaluate(FETCH_TEXT, marker).strip()[-1])  # fmt: skip

    assert seen() == ("A", "A")

    serve("b")  # the teacher rebuilt the site
    page.page.reload()
    page.wait_kernel_idle()
    notice = page.page.locator(".Toastify__toast", has_text="A new version of this site")
    notice.wait_for(timeout=120_000)
    assert seen() == ("A", "A")  # until accepted, everything from build A
    page.page.reload()  # a reload without accepting keeps build A
    page.wait_kernel_idle()
    assert seen() == ("A", "A")
    notice.wait_for(timeout=60_000)

    # the notebook app asks "Leave site?" when a notebook has changes: leave
    page.page.on("dialog", lambda d: d.accept())
    with page.page.expect_navigation(timeout=60_000):
        notice.get_by_role("button", name="Reload").click()
    page.wait_kernel_idle()
    assert seen() == ("B", "B")
    assert "offline-test bundle of build B" in page.page.evaluate(
        "async () => (await Promise.all(performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('remoteEntry')).map(async e => "
        "(await fetch(e.name)).text()))).join('')"
    )
    # the old copy goes once no page uses it
    old = f"jupyterlite-stream-v2-build-{build_id(builds['a'])}"
    wait_until(page, "async (old) => !(await caches.keys()).includes(old)", old)
    assert f"jupyterlite-stream-v2-build-{build_id(builds['b'])}" in page.page.evaluate(OUR_CACHES)


def test_cache_switched_off_uses_no_cache_storage(builds, server, visitor, serve):
    page = visitor()
    page.open_repl()
    wait_for_copy(page, build_id(builds["a"]))
    assert page.page.evaluate(OUR_CACHES)

    serve("off")  # the teacher switched it off: the copy is dropped
    page.page.reload()
    page.wait_kernel_idle()
    wait_until(page, f"async () => (await ({OUR_CACHES})()).length === 0")

    fresh = visitor()  # a new student never gets one
    fresh.open_repl()
    assert text_of(fresh.execute("print('online only')")) == "online only\n"
    wait_until(fresh, f"async () => (await ({ASK_WORKER})('check')).status === 'off'")
    assert fresh.page.evaluate("async () => await caches.keys()") == []


def test_clear_browser_data_removes_the_copy(builds, server, visitor, serve):
    page = visitor()
    page.page.goto(f"{server.base}lab/index.html")
    page.page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    wait_for_copy(page, build_id(builds["a"]))
    sentinel = server.base + "offline-test-sentinel"
    page.page.evaluate(
        "async (url) => { for (const n of await caches.keys()) "
        "await (await caches.open(n)).put(url, new Response('x')); }",
        sentinel,
    )
    # not awaited: the command ends only once its dialog is answered
    page.page.evaluate(
        "() => { window.jupyterapp.commands.execute('application:clear-browser-data'); }"
    )
    dialog = page.page.locator(".jp-Dialog", has_text="Clear Browser Data")
    with page.page.expect_navigation(timeout=30_000):
        dialog.get_by_role("button", name="Clear", exact=True).click()
    page.page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    left = page.page.evaluate("async (url) => !!(await caches.match(url))", sentinel)
    assert left is False
