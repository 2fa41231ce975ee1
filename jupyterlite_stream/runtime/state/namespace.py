"""Variables of the user namespace: which to save, how, and back.

Each variable is stored on its own (so one bad value costs one variable):

- "module-import": modules and importable functions/classes, as the import
  to redo (`import numpy as np`, `from math import sqrt`);
- "sqlite": open sqlite3 connections, as database files (sqlite.py);
- "json": JSON values that come back identical (no tuples, str keys...);
- "pickle-data": other plain data (see `_is_plain_data`), a protocol-5
  pickle that the restricted unpickler loads without trust;
- "pickle-code": anything else cloudpickle can save (functions, classes and
  instances defined in cells); loading it runs code, so only with trust.

Functions defined in cells are pickled so that, once loaded, their globals
are the namespace they are restored into (cloudpickle alone would give each
a private copy of the globals it uses, so `global counter` would diverge).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import importlib
import io
import json
import pathlib
import pickle
import reprlib
import sys
import types
import uuid

from . import archive
from .restricted import MissingModule, restricted_loads

#: IPython's own names, never saved (besides every name starting with "_")
IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "display", "help"}

_JSON_SCALARS = {str, int, float, bool, type(None)}
_DATA_SCALARS = _JSON_SCALARS | {
    complex, bytes, bytearray, range,
    decimal.Decimal, fractions.Fraction, uuid.UUID,
    datetime.date, datetime.timedelta, datetime.timezone,
    pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath, pathlib.WindowsPath,
}  # fmt: skip
_DATETIMES = {datetime.datetime, datetime.time}  # data if their tzinfo is
_SEQUENCES = {list, tuple, set, frozenset, collections.deque}
_MAPPINGS = {dict, collections.OrderedDict, collections.Counter, collections.defaultdict}
#: defaultdict factories a data pickle may name (restricted.ALLOWED builtins)
_FACTORIES = {None, list, dict, set, frozenset, tuple, int, float, str, bool, complex}
#: above this many items, JSON values are pickled too: JSON is readable in
#: the zip but ~20x slower than pickle to write and to read back
MAX_JSON_ITEMS = 50_000


class Unsaveable(Exception):
    """This value cannot be saved; the message says why, for the user."""


def user_variables(ns: dict, hidden: dict | None = None):
    """(name, value) of the user's variables: not IPython's, not `_`-names,
    not the names IPython put there at start (`shell.user_ns_hidden`)."""
    hidden = hidden or {}
    for name, value in list(ns.items()):
        if name.startswith("_") or name in IPYTHON_NAMES:
            continue
        if name in hidden and hidden[name] is value:
            continue
        yield name, value


# ---------------------------------------------------------------- export


def encode(name: str, value, ns: dict) -> tuple[dict, bytes | None]:
    """The manifest record of `value` and its entry's bytes (None for
    imports); raises Unsaveable."""
    record = {"name": name, "type": type_name(value)}
    if isinstance(value, types.ModuleType):
        return {**record, "storage": "module-import", "module": value.__name__}, None
    reference = _import_reference(value)
    if reference:
        module, attr = reference
        return {**record, "storage": "module-import", "module": module, "attr": attr}, None
    reason = unsaveable_reason(value)
    if reason:
        raise Unsaveable(reason)
    is_data, is_json, items = _is_plain_data(value)
    if is_json and items <= MAX_JSON_ITEMS:
        try:
            data = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
            return {**record, "storage": "json", "preview": preview(value)}, data.encode()
        except (ValueError, RecursionError):  # NaN, huge int, deep nesting
            pass
    if is_data:
        try:
            data = dump_data(value)
            return {**record, "storage": "pickle-data", "preview": preview(value)}, data
        except RecursionError:
            pass
    return {**record, "storage": "pickle-code", "preview": preview(value)}, dump_code(value, ns)


def type_name(value) -> str:
    kind = type(value)
    module = kind.__module__
    return (
        kind.__qualname__
        if module in ("builtins", "__main__")
        else f"{module}.{kind.__qualname__}"
    )


_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60


def preview(value) -> str:
    """A short repr for the preview; user `__repr__`s may fail, and reprlib
    sorts every key of a dict: big containers only say their length."""
    try:
        if isinstance(value, (list, tuple, set, frozenset, dict)) and len(value) > 100:
            return f"<{type_name(value)} of {len(value)} items>"
        if isinstance(value, (str, bytes, bytearray)) and len(value) > 100:
            return _repr.repr(value[:100])  # reprlib would repr all of it first
        return _repr.repr(value)
    except Exception:
        return f"<{type_name(value)}>"


def unsaveable_reason(value) -> str | None:
    """A clear reason for the usual suspects; cloudpickle's message otherwise."""
    kind = type(value)
    if isinstance(value, io.IOBase):
        return "open file: its contents are in the file itself (keep it in the drive)"
    if isinstance(value, (types.GeneratorType, types.AsyncGeneratorType)):
        return "generator: its paused state cannot be saved"
    if isinstance(value, types.CoroutineType):
        return "coroutine: its paused state cannot be saved"
    if kind.__module__ in ("_thread", "threading") or kind.__name__ in ("lock", "RLock"):
        return f"{kind.__name__}: threads and locks cannot be saved"
    if kind.__module__.startswith(("pyodide.ffi", "_pyodide")) or kind.__name__.startswith("Js"):
        return "JavaScript object: it lives in the browser page, not in Python"
    if kind.__module__ == "sqlite3" and kind.__name__ == "Cursor":
        return "sqlite3 cursor: save the connection instead (it is restored)"
    if kind.__module__ == "socket":
        return "network socket cannot be saved"
    return None


def _import_reference(value) -> tuple[str, str] | None:
    """(module, qualname) when `value` is a function or class that importing
    gives back (`from math import sqrt`); None for cell-defined ones."""
    if not isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        return None
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname or module == "builtins":
        return None
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return (module, qualname) if found is value else None


def _is_plain_data(value) -> tuple[bool, bool, int]:
    """(pickle-data, json, items): whether `value` holds only types whose
    pickles use restricted.ALLOWED globals, and only exact JSON types; how
    many items its containers hold. Walks with a stack (no recursion limit)
    and map(type, ...) (C speed on big lists)."""
    stack, seen, is_json, items = [value], set(), True, 0
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in _JSON_SCALARS:
            continue
        if kind in _DATA_SCALARS:
            is_json = False
        elif kind in _DATETIMES:
            is_json = False
            if item.tzinfo is not None and type(item.tzinfo) is not datetime.timezone:
                return False, False, items
        elif kind in _SEQUENCES or kind in _MAPPINGS:
            if id(item) in seen:  # shared or cyclic: JSON would copy or loop
                is_json = False
                continue
            seen.add(id(item))
            if kind is collections.defaultdict and item.default_factory not in _FACTORIES:
                return False, False, items
            items += len(item)
            if kind is dict:
                is_json = is_json and set(map(type, item)) <= {str}
            elif kind is not list:
                is_json = False
            parts = (item.keys(), item.values()) if kind in _MAPPINGS else (item,)
            for part in parts:
                if not set(map(type, part)) <= _JSON_SCALARS:
                    stack.extend(x for x in part if type(x) not in _JSON_SCALARS)
        elif not _is_numpy_data(item):
            return False, False, items
        else:
            is_json = False
    return True, is_json, items


def _is_numpy_data(item) -> bool:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return False
    if type(item) is numpy.ndarray or (
        isinstance(item, numpy.generic) and type(item).__module__ == "numpy"
    ):
        return not item.dtype.hasobject
    return False


# ------------------------------------------------------ code (cloudpickle)


class _EmptyCell:
    """Marks a closure cell with no value yet."""


def _new_function(code, name, n_cells):
    """Unpickling: a cell-defined function whose globals are the namespace
    being restored (see `load_code`)."""
    closure = tuple(types.CellType() for _ in range(n_cells)) or None
    return types.FunctionType(code, _loading_namespace(), name, None, closure)


def _set_function_state(func, state):
    for cell, value in zip(func.__closure__ or (), state.pop("cells"), strict=True):
        if value is not _EmptyCell:
            cell.cell_contents = value
    func.__dict__.update(state.pop("dict") or {})
    for attr, value in state.items():
        setattr(func, attr, value)


def _reduce_function(func):
    cells = [_cell_value(cell) for cell in func.__closure__ or ()]
    state = {
        "cells": cells,
        "dict": dict(func.__dict__) or None,
        "__defaults__": func.__defaults__,
        "__kwdefaults__": func.__kwdefaults__,
        "__qualname__": func.__qualname__,
        "__module__": func.__module__,
        "__doc__": func.__doc__,
    }
    try:  # lazily evaluated in 3.14: may raise NameError
        state["__annotations__"] = dict(func.__annotations__)
    except Exception:
        pass
    n_cells = len(cells)
    return (
        _new_function,
        (func.__code__, func.__name__, n_cells),
        state,
        None,
        None,
        _set_function_state,
    )


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _EmptyCell


def _namespace_variable(name):
    """Unpickling: another variable of the state (see `Loader`)."""
    return _loader().resolve(name)


class Loader:
    """Loads the pickle-code entries of one import: functions get `ns` as
    globals, and a reference to another variable (an instance's class, a
    function in a list) resolves to that variable as restored, so
    `isinstance(k, K)` still holds afterwards. Does not change `ns`."""

    def __init__(self, ns: dict, values: dict, code: dict[str, bytes]):
        self.ns, self.values, self.code = ns, values, code
        self._loading: set[str] = set()

    def load(self, name: str):
        if name in self.values:
            return self.values[name]
        if name in self._loading or name not in self.code:
            raise LookupError(f"needs variable {name!r}, which was not restored")
        self._loading.add(name)
        _LOADING.append(self)
        try:
            self.values[name] = pickle.loads(self.code[name])
        finally:
            _LOADING.pop()
            self._loading.discard(name)
        return self.values[name]

    resolve = load


_LOADING: list[Loader] = []


def _loader() -> Loader:
    if not _LOADING:
        raise pickle.UnpicklingError("a pickle-code entry loads only through import_state")
    return _LOADING[-1]


def _loading_namespace() -> dict:
    return _loader().ns


def dump_code(value, ns: dict) -> bytes:
    try:
        import cloudpickle
    except ImportError:
        raise Unsaveable("needs cloudpickle, which is not installed") from None

    def is_other_variable(obj) -> bool:
        name = getattr(obj, "__name__", None)
        return obj is not value and isinstance(name, str) and ns.get(name) is obj

    class NamespacePickler(cloudpickle.Pickler):
        def reducer_override(self, obj):
            if type(obj) is types.FunctionType and obj.__globals__ is ns:
                if is_other_variable(obj):
                    return _namespace_variable, (obj.__name__,)
                return _reduce_function(obj)
            if isinstance(obj, type) and is_other_variable(obj) and not _import_reference(obj):
                return _namespace_variable, (obj.__name__,)
            return super().reducer_override(obj)

    output = PickleOutput()
    try:
        NamespacePickler(output, protocol=5).dump(value)
    except Exception as exc:
        raise Unsaveable(f"cannot be saved: {type(exc).__name__}: {exc}") from None
    return output.getvalue()


def dump_data(value) -> bytes:
    """`pickle.dumps(value, protocol=5)`, written frame by frame (see
    PickleOutput)."""
    output = PickleOutput()
    pickle.Pickler(output, protocol=5).dump(value)
    return output.getvalue()


class PickleOutput:
    """What a pickler writes to: `write` runs at each of its frames (~64 KiB)
    and checks for a cut (`archive.step_check`), so pickling a large value
    (a list of a million numbers) is not one long step of C code that a cell
    cutting a checkpoint short would wait for. The pieces are kept as they
    come (a large bytes value arrives whole, not copied)."""

    def __init__(self):
        self._parts: list = []

    def write(self, data) -> int:
        if archive.step_check is not None:
            archive.step_check()
        self._parts.append(data)  # bytes, or a bytearray / PickleBuffer payload
        return memoryview(data).nbytes

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


# ---------------------------------------------------------------- import


def decode_data(record: dict, data: bytes, budget=None):
    """Value of a json / pickle-data entry; StateError if malformed,
    MissingModule if it needs numpy and numpy is not here."""
    if record["storage"] == "json":
        from .errors import StateError

        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise StateError(f"variable {record['name']!r}: bad JSON: {exc}") from None
    return restricted_loads(data, budget)


def redo_import(record: dict):
    """`import module` / `from module import attr` for a module-import
    record; ImportError/AttributeError when not available here."""
    value = importlib.import_module(record["module"])
    for part in (record.get("attr") or "").split("."):
        if part:
            value = getattr(value, part)
    return value


__all__ = ["MissingModule", "Unsaveable", "encode", "decode_data", "Loader", "redo_import"]
