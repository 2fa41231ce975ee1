"""`urllib.request.urlopen` / `urlretrieve` over the browser's own fetching.

Pyodide has no sockets, so urllib's HTTP handlers fail (`TLS not supported`,
`RemoteDisconnected`). Here http and https go through a synchronous
`XMLHttpRequest` from the kernel's worker (allowed in workers, and what Python
code that expects a blocking call needs). The browser applies its rules: same
origin works, other sites only when they allow it (CORS). Failures are the
usual `urllib.error.HTTPError` / `URLError`, naming the URL.
"""

from __future__ import annotations

import http.client
import io
import urllib.error
import urllib.request
import urllib.response

#: headers the browser sets itself or that would make a simple request need a
#: CORS preflight (urllib always sends a User-agent)
_SKIPPED_HEADERS = {"host", "connection", "user-agent", "accept-encoding", "content-length"}

REFUSED = (
    "the browser could not fetch it (offline, no such host, or the site does "
    "not allow cross-origin requests (CORS))"
)


def _xhr_class():
    """`XMLHttpRequest`, looked up now: the kernel may come from a snapshot
    made under Node, which has none."""
    try:
        import js

        return js.XMLHttpRequest
    except (ImportError, AttributeError):
        return None


def _parse_headers(raw: str) -> http.client.HTTPMessage:
    return http.client.parse_headers(io.BytesIO((raw.strip() + "\r\n\r\n").encode("latin-1")))


def _send(xhr, data) -> None:
    if data is None:
        xhr.send()
        return
    import js

    if isinstance(data, str):
        data = data.encode("utf-8")
    xhr.send(js.Uint8Array.new(bytes(data)))


def fetch(request: urllib.request.Request) -> urllib.response.addinfourl:
    """Do `request` with a synchronous XMLHttpRequest; raise like urllib."""
    url = request.full_url
    xhr_class = _xhr_class()
    if xhr_class is None:
        raise urllib.error.URLError(f"{url}: downloads need the browser's XMLHttpRequest")
    xhr = xhr_class.new()
    try:
        xhr.open(request.get_method(), url, False)
        xhr.responseType = "arraybuffer"
        for name, value in request.header_items():
            if name.lower() not in _SKIPPED_HEADERS:
                xhr.setRequestHeader(name, value)
        _send(xhr, request.data)
    except Exception as exc:  # a JsException: NetworkError, refused by CORS
        raise urllib.error.URLError(f"{url}: {REFUSED}") from exc
    if xhr.status == 0:
        raise urllib.error.URLError(f"{url}: {REFUSED}")
    import js

    body = js.Uint8Array.new(xhr.response).to_bytes() if xhr.response else b""
    headers = _parse_headers(xhr.getAllResponseHeaders())
    final_url = xhr.responseURL or url
    if xhr.status >= 400:
        reason = xhr.statusText or http.client.responses.get(xhr.status, "")
        raise urllib.error.HTTPError(
            final_url, xhr.status, f"{reason} ({final_url})", headers, io.BytesIO(body)
        )
    response = urllib.response.addinfourl(io.BytesIO(body), headers, final_url, xhr.status)
    response.msg = xhr.statusText or http.client.responses.get(xhr.status, "")
    return response


class BrowserHandler(urllib.request.BaseHandler):
    """The http and https handler of the kernel's default opener."""

    handler_order = 100  # before urllib's own HTTP handlers

    def http_open(self, request):
        return fetch(request)

    https_open = http_open


def install_downloads() -> None:
    """Make `urlopen`, `urlretrieve` and code built on them use the browser."""
    urllib.request.install_opener(urllib.request.build_opener(BrowserHandler()))
