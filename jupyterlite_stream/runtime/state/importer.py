"""import_state: everything read and checked first, then applied at once.

Phase 1 reads every entry (sha256 against the manifest), decodes data,
opens databases and plans file targets: no change anywhere, and any
problem raises StateError. Phase 2 runs what may have effects (imports,
trusted unpickling, staging files), then commits files and updates the
namespace in one `dict.update`; if phase 2 fails the staged files are
removed and the namespace is not touched.
"""

from __future__ import annotations

import contextlib
import gc

from . import namespace, sqlite
from . import packages as package_list
from .archive import open_archive
from .errors import StateError
from .files import FileRestore
from .manifest import NEEDS_TRUST_STORAGES
from .restricted import Budget, MissingModule

NEEDS_TRUST = "needs trust: this object runs code when loaded"
NEEDS_TRUST_IMPORT = "needs trust: importing a module runs its code"


def as_state_error(what: str):
    """Any failure of `what` as a StateError with a short message (deep
    JSON, a module's SystemExit, MemoryError, OSError...); Stop
    (KeyboardInterrupt) stays itself."""

    def wrap(function):
        def call(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except (StateError, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 (every failure is a refusal)
                text = str(exc).splitlines()[0][:200] if str(exc) else ""
                raise StateError(f"{what} failed: {type(exc).__name__}: {text}") from None

        call.__name__, call.__doc__ = function.__name__, function.__doc__
        return call

    return wrap


@as_state_error("import")
def import_state(source, *, ns, trust, signing_key, file_roots, limits, restore_files):
    from .reports import ImportReport

    with open_archive(source, limits) as reader, _gc_paused():
        trusted = bool(trust) or reader.signature_valid(signing_key)
        manifest = reader.manifest
        budget = Budget(reader.limits.max_built_bytes)
        values, skipped, restorer, staged, opened, code = _read_everything(
            reader, manifest, trusted, file_roots, restore_files, budget
        )
    try:
        _run_code(manifest, ns, values, skipped, code, trusted)
        for target, data in staged:
            try:
                restorer.stage(target, data)
            except OSError as exc:
                raise StateError(f"cannot write {target}: {exc}") from None
        restorer.commit()
    except BaseException:
        restorer.rollback()
        for conn in opened:
            conn.close()
        raise
    # the one change to the namespace, after everything else succeeded
    ordered = {v["name"]: values[v["name"]] for v in manifest["variables"] if v["name"] in values}
    ns.update(ordered)
    return ImportReport(
        restored=list(ordered),
        files=[target for target, _ in staged],
        skipped=_not_saved(manifest) + skipped,
        trusted=trusted,
        packages_missing=package_list.missing(manifest["packages"]),
    )


@contextlib.contextmanager
def _gc_paused():
    """Unpickling a million containers triggers the cyclic GC over and over
    (3x the load time); they are all alive anyway, so pause it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _not_saved(manifest) -> list[dict]:
    """What the export itself could not save, as told by the (untrusted)
    manifest: only shown, so only cut to size."""
    result = []
    for item in manifest["skipped"]:
        if isinstance(item, dict):
            result.append(
                {
                    "name": str(item.get("name", "?"))[:200],
                    "kind": "variable" if item.get("kind") == "variable" else "file",
                    "reason": "not saved in the file: " + str(item.get("reason", "?"))[:300],
                }
            )
    return result


def _read_everything(reader, manifest, trusted, file_roots, restore_files, budget):
    """Phase 1: no side effects. Returns (values, skipped, restorer, staged
    files [(target, bytes)], opened sqlite connections) plus code entries."""
    values, skipped, opened, code = {}, [], [], {}
    try:
        for record in manifest["variables"]:
            name, storage = record["name"], record["storage"]
            if storage == "module-import":
                if not trusted:  # an import runs the module's code
                    skipped.append(
                        {"name": name, "kind": "variable", "reason": NEEDS_TRUST_IMPORT}
                    )
                continue  # phase 2
            data = reader.read_entry(record["entry"])
            if storage == "pickle-code":
                if trusted:
                    code[name] = data
                else:
                    skipped.append({"name": name, "kind": "variable", "reason": NEEDS_TRUST})
            elif storage == "sqlite":
                opened.append(sqlite.open_database(name, data))
                values[name] = opened[-1]
            else:
                try:
                    values[name] = namespace.decode_data(record, data, budget)
                except MissingModule as exc:
                    skipped.append({"name": name, "kind": "variable", "reason": str(exc)})
                except StateError as exc:
                    raise StateError(f"variable {name!r}: {exc}") from None
        restorer, staged = _plan_files(reader, manifest, file_roots, restore_files, skipped)
    except BaseException:
        for conn in opened:
            conn.close()
        raise
    return values, skipped, restorer, staged, opened, code


def _plan_files(reader, manifest, file_roots, restore_files, skipped):
    restorer, staged, targets = FileRestore(file_roots), [], set()
    for record in manifest["files"]:
        data = reader.read_entry(record["entry"])  # checked even when not restored
        target = restorer.target(record) if restore_files else None
        if target is None:
            reason = "files not restored" if not restore_files else "folder not restored here"
            name = f"{record['root']}/{record['path']}"
            skipped.append({"name": name, "kind": "file", "reason": reason})
            continue
        if target in targets:
            raise StateError(f"file {target} is listed twice")
        targets.add(target)
        staged.append((target, data))
    restorer.check_plan(targets)
    return restorer, staged


def _run_code(manifest, ns, values, skipped, code, trusted=True):
    """Phase 2 effects: redo imports, load trusted code pickles. A failure
    costs that variable only (the file itself was sound)."""
    records = manifest["variables"]
    for record in records:
        if record["storage"] == "module-import" and trusted:
            try:
                values[record["name"]] = namespace.redo_import(record)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit from a module too
                reason = f"could not import: {type(exc).__name__}: {exc}"
                skipped.append({"name": record["name"], "kind": "variable", "reason": reason})
    loader = namespace.Loader(ns, values, code)
    for name in code:
        try:
            loader.load(name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            reason = f"could not load: {type(exc).__name__}: {exc}"
            skipped.append({"name": name, "kind": "variable", "reason": reason})


@as_state_error("reading the state file")
def inspect_state(source, *, signing_key, limits):
    from .reports import Preview

    with open_archive(source, limits) as reader:
        reader.check_all_entries()
        m = reader.manifest
        size = sum(r["size"] for r in reader.records.values())
        return Preview(
            format_version=m["format_version"],
            created=str(m.get("created", "")),
            python=str(m.get("python", "")),
            pyodide=None if m.get("pyodide") is None else str(m["pyodide"]),
            variables=m["variables"],
            files=m["files"],
            packages=m["packages"],
            skipped=_not_saved(m),
            needs_code=any(v["storage"] in NEEDS_TRUST_STORAGES for v in m["variables"]),
            needs_trust=[
                v["name"] for v in m["variables"] if v["storage"] in NEEDS_TRUST_STORAGES
            ],
            signed=reader.is_signed,
            trusted=reader.signature_valid(signing_key),
            size=size,
        )
