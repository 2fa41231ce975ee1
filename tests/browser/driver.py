"""Drive a built jupyterlite-stream site in Debian's headless Chromium.

Shared by the browser tests and the benchmarks. Every request that leaves
127.0.0.1 is aborted and recorded (routing at the context level also sees the
kernel worker's requests).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from urllib.parse import quote, urlsplit

from playwright.sync_api import BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
KERNEL_START_MS = 120_000

# the kernel of the widget in the main area (notebook, console)
_KERNEL = """(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const s = w && w.sessionContext && w.sessionContext.session;
  return s ? s.kernel : null; })()"""

_START = """([code, id, stdin, stop]) => {
  const kernel = KERNEL;
  const run = window.__runs[id] = {iopub: [], reply: null, t0: performance.now(), tReply: null};
  const future = kernel.requestExecute({code, allow_stdin: true, stop_on_error: false});
  future.onIOPub = (msg) => run.iopub.push({t: performance.now() - run.t0,
      type: msg.header.msg_type, content: msg.content});
  future.onStdin = (msg) => {
    const t = performance.now() - run.t0;
    run.iopub.push({t, type: 'input_request', content: msg.content});
    if (stdin !== null) kernel.sendInputReply({status: 'ok', value: stdin}, msg.header);
  };
  const settle = (reply) => { run.reply = reply; run.tReply = performance.now() - run.t0; };
  future.done.then((reply) => settle(reply.content),
                   (err) => settle({status: 'rejected', error: String(err)}));
  if (stop) kernel.interrupt();  // the same task: before the request reaches the kernel
}""".replace("KERNEL", _KERNEL)


class Run:
    """One execute request and what came back for it."""

    def __init__(self, lite: LitePage, run_id: int):
        self.lite, self.id = lite, run_id

    def state(self) -> dict:
        return self.lite.page.evaluate("(id) => window.__runs[id]", self.id)

    def wait(self, timeout_ms: int = 60_000) -> dict:
        self.lite.page.wait_for_function(
            "(id) => window.__runs[id].reply !== null", arg=self.id, timeout=timeout_ms, polling=20
        )
        return self.state()


class LitePage:
    """One page of the site with its kernel, reused across the tests of a module."""

    def __init__(self, context: BrowserContext, base: str, route: bool = True):
        """Without `route`, requests that leave 127.0.0.1 are only recorded
        (CHROMIUM_ARGS make every other host unresolvable): Playwright's
        routing stalls a service worker that copies hundreds of files."""
        self.context, self.base = context, base
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
        self.blocked: list[str] = []
        self.console: list[str] = []
        self._next_run = 0
        if route:
            context.route("**/*", self._route)
        else:
            context.on("request", self._record)
        self.page: Page = context.new_page()
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def _route(self, route) -> None:
        url = route.request.url
        # the site, and the test's other servers on 127.0.0.1 (cross-origin
        # requests the browser itself must refuse without CORS)
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _record(self, request) -> None:
        url = request.url
        if not (url.startswith(("data:", "blob:")) or urlsplit(url).hostname == "127.0.0.1"):
            self.blocked.append(url)

    # --- navigation -------------------------------------------------------------
    def open_notebook(self, path: str) -> None:
        self.page.goto(f"{self.base}notebooks/index.html?path={quote(path)}")
        self.wait_kernel_idle()

    def open_repl(self, code: str = "") -> None:
        self.page.goto(f"{self.base}repl/index.html?kernel=python&toolbar=1&code={quote(code)}")
        self.wait_kernel_idle()

    def wait_kernel_idle(self, timeout_ms: int = KERNEL_START_MS) -> None:
        self.page.wait_for_function(
            f"""() => {{ const k = {_KERNEL}; return !!k && k.status === 'idle'; }}""",
            timeout=timeout_ms,
            polling=100,
        )
        self.page.evaluate("window.__runs = window.__runs || {}")

    # --- the kernel --------------------------------------------------------------
    def start(self, code: str, stdin: str | None = None, stop_at_once: bool = False) -> Run:
        """Send an execute request without waiting for it (and press Stop
        right after it, when told)."""
        self._next_run += 1
        self.page.evaluate(_START, [code, self._next_run, stdin, stop_at_once])
        return Run(self, self._next_run)

    def execute(self, code: str, stdin: str | None = None, timeout_ms: int = 60_000) -> dict:
        return self.start(code, stdin).wait(timeout_ms)

    def interrupt(self) -> None:
        """What the Stop button does: the kernel connection's interrupt."""
        self.page.evaluate(f"{_KERNEL}.interrupt()")

    def kernel_info(self) -> dict:
        return self.page.evaluate(f"{_KERNEL}.info.then(i => i)")

    @property
    def isolated(self) -> bool:
        return self.page.evaluate("crossOriginIsolated")


def text_of(run_state: dict, kind: str = "stream") -> str:
    """All stream text (or text/plain of results) of a finished run."""
    if kind == "stream":
        return "".join(m["content"]["text"] for m in run_state["iopub"] if m["type"] == "stream")
    return "".join(
        m["content"]["data"].get("text/plain", "")
        for m in run_state["iopub"]
        if m["type"] in ("execute_result", "display_data")
    )


def errors_of(run_state: dict) -> list[str]:
    return [m["content"]["ename"] for m in run_state["iopub"] if m["type"] == "error"]


def elapsed_since(t0: float) -> float:
    return round(time.monotonic() - t0, 3)


@contextlib.contextmanager
def closing_pages(new_page: Callable[..., LitePage]) -> Iterator[Callable[..., LitePage]]:
    """A factory of pages made by `new_page`: every page it made is closed at
    the end, and none may have sent a request that left 127.0.0.1."""
    made: list[LitePage] = []

    def make(*args) -> LitePage:
        page = new_page(*args)
        made.append(page)
        return page

    yield make
    for page in made:
        page.context.close()
        assert page.blocked == [], f"requests left 127.0.0.1: {page.blocked}"
