"""The HTTP headers that make a page cross-origin isolated, so that
SharedArrayBuffer (and with it real interrupts) is available."""

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
