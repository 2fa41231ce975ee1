"""export_state: the namespace, files and packages into one zip."""

from __future__ import annotations

import io
import os
import secrets
import sqlite3

from . import files as kernel_files
from . import namespace, sqlite
from . import packages as package_list
from .archive import ArchiveWriter
from .manifest import is_safe_entry_name, is_valid_variable_name, new_manifest

MiB = 1024 * 1024
_EXTENSION = {"json": "json", "pickle-data": "pickle", "pickle-code": "pickle", "sqlite": "sqlite"}


def export_state(
    path=None,
    *,
    namespace_: dict,
    hidden: dict,
    include_files: bool,
    max_file_bytes: int,
    max_files_bytes: int,
    file_roots,
    packages,
    signing_key: bytes | None,
):
    from .reports import ExportReport

    manifest = new_manifest()
    target = temporary = None
    if path is None:
        output = io.BytesIO()
    else:
        target = os.path.abspath(os.fspath(path))
        # write next to the target, rename at the end: never a half-written file
        temporary = f"{target}.{secrets.token_hex(4)}.tmp"
        output = open(temporary, "xb")  # noqa: SIM115 (closed below)
    try:
        writer = ArchiveWriter(output)
        _add_variables(writer, manifest, namespace_, hidden)
        if include_files:
            roots = kernel_files.default_roots() if file_roots is None else file_roots
            _add_files(
                writer, manifest, roots, max_file_bytes, max_files_bytes, [target, temporary]
            )
        manifest["packages"] = (
            package_list.user_installed() if packages is None else [dict(p) for p in packages]
        )
        writer.finish(manifest, signing_key)
        if target:
            output.close()
            os.replace(temporary, target)
            size, data = os.path.getsize(target), None
        else:
            data = output.getvalue()
            size = len(data)
    except BaseException:
        if temporary:
            output.close()
            if os.path.exists(temporary):
                os.remove(temporary)
        raise
    return ExportReport(
        path=target,
        data=data,
        size=size,
        variables=manifest["variables"],
        files=manifest["files"],
        packages=manifest["packages"],
        skipped=manifest["skipped"],
        signed=signing_key is not None,
    )


def _add_variables(writer, manifest, ns, hidden) -> None:
    for name, value in namespace.user_variables(ns, hidden):
        try:
            if not is_valid_variable_name(name):
                raise namespace.Unsaveable("not a Python identifier")
            record, data = _encode(name, value, ns)
        except namespace.Unsaveable as exc:
            reason = str(exc)
        except Exception as exc:  # a user object's pickling hook blew up
            reason = f"cannot be saved: {type(exc).__name__}: {exc}"
        else:
            if data is not None:
                record["entry"] = f"variables/{name}.{_EXTENSION[record['storage']]}"
                record["size"], record["sha256"] = writer.add(record["entry"], data)
            manifest["variables"].append(record)
            continue
        manifest["skipped"].append(
            {
                "name": name,
                "kind": "variable",
                "type": namespace.type_name(value),
                "reason": reason,
            }
        )


def _encode(name, value, ns):
    if isinstance(value, sqlite3.Connection):
        try:
            data, about = sqlite.database_bytes(value)
        except sqlite3.ProgrammingError as exc:
            raise namespace.Unsaveable(f"sqlite3 connection cannot be read: {exc}") from None
        return {"name": name, "type": "sqlite3.Connection", "storage": "sqlite", **about}, data
    return namespace.encode(name, value, ns)


def _add_files(writer, manifest, roots, max_file_bytes, max_files_bytes, exclude) -> None:
    roots = kernel_files.normalize_roots(roots)
    found, skipped = kernel_files.collect(
        roots, max_file_bytes, max_files_bytes, [p for p in exclude if p]
    )
    manifest["skipped"] += skipped
    for root, rel, path, _ in found:
        entry = f"files/{roots.index(root)}/{rel}"
        if not is_safe_entry_name(entry):
            reason = "its name cannot be stored in a zip safely"
            manifest["skipped"].append({"name": path, "kind": "file", "reason": reason})
            continue
        try:
            with open(path, "rb") as file:
                data = file.read(max_file_bytes + 1)
        except OSError as exc:
            manifest["skipped"].append({"name": path, "kind": "file", "reason": str(exc)})
            continue
        size, sha256 = writer.add(entry, data)
        manifest["files"].append(
            {"root": root, "path": rel, "entry": entry, "size": size, "sha256": sha256}
        )
