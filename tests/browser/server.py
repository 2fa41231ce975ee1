"""A static server for the built site, run in a thread of the test process,
with or without the headers that make pages cross-origin isolated."""

from __future__ import annotations

import functools
import http.server
import mimetypes
import threading

from jupyterlite_stream.builder.headers import ISOLATION_HEADERS

mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/json", ".json")


class _Handler(http.server.SimpleHTTPRequestHandler):
    headers_to_add: dict[str, str] = {}
    served: list[str] = []

    def log_request(self, code="-", size="-"):
        self.served.append(self.path)

    def end_headers(self):
        for name, value in self.headers_to_add.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, *args):  # keep test output short
        pass


class SiteServer:
    """Serve `root` on 127.0.0.1 (a free port) until `stop()`."""

    def __init__(self, root, isolated: bool, extra_headers: dict[str, str] | None = None):
        #: the path of every request answered, in order
        self.served: list[str] = []
        headers = {**(ISOLATION_HEADERS if isolated else {}), **(extra_headers or {})}
        handler = type("Handler", (_Handler,), {"headers_to_add": headers, "served": self.served})
        self._httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
        )
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
