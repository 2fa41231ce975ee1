"""What the page's Export/Import State commands call, through the kernel's
worker: bytes in and out, reports as plain dicts (JSON-able)."""

from __future__ import annotations

import json

from . import StateError, export_state, import_state_async, inspect_state


def _as_bytes(data) -> bytes:
    """A JavaScript Uint8Array (a JsProxy in Pyodide) or bytes."""
    to_bytes = getattr(data, "to_bytes", None)
    return to_bytes() if to_bytes else bytes(data)


def _key(key):
    return key.encode() if key else None


def export_for_download(signing_key: str | None):
    """The state file's bytes and the export report (JSON text)."""
    report = export_state(signing_key=_key(signing_key))
    return report.data, json.dumps(report.to_dict())


def preview(data, signing_key: str | None) -> str:
    """What a state file holds (JSON text), or `{"error": why}` for a bad file
    (errors travel to the page as data: the message is what the user reads)."""
    try:
        found = inspect_state(_as_bytes(data), signing_key=_key(signing_key))
    except StateError as err:
        return json.dumps({"error": str(err)})
    return json.dumps(found.to_dict())


async def restore(data, trust: bool, signing_key: str | None) -> str:
    """Import a state file (all or nothing): the import report as JSON text,
    or `{"error": why}` when the file was refused and nothing changed."""
    try:
        report = await import_state_async(
            _as_bytes(data), trust=bool(trust), signing_key=_key(signing_key)
        )
    except StateError as err:
        return json.dumps({"error": str(err)})
    return json.dumps(report.to_dict())


def checkpoint(signing_key: str | None, previous: str | None, max_bytes, interrupted=None):
    """An automatic checkpoint (see checkpoint.py): a list [status, data,
    summary JSON, fingerprint] for the worker to read, status "cancelled"
    when a cell cut it short. `interrupted()`: whether a cell asked to run
    (the page's signal)."""
    from .checkpoint import make_checkpoint

    limit = None if max_bytes is None else int(max_bytes)
    try:
        return list(make_checkpoint(signing_key, previous, limit, interrupted=interrupted))
    except KeyboardInterrupt:
        # answered, not raised: Pyodide turns an exception that reaches the
        # worker into a JS error with the formatted traceback, reading the
        # stdlib's sources out of its zip for it (10-60 ms the cell waited)
        return ["cancelled", None, "{}", None]
