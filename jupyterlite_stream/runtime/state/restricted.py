"""Loading pickles of plain data without running code from the file.

A pickle names the callables it wants called ("GLOBAL" opcodes); a hostile
one names `os.system` or `builtins.eval`. `find_class` below resolves only an
allowlist of constructors that build values and do nothing else, so data
pickles (`storage: "pickle-data"`) load without trust.
"""

from __future__ import annotations

import importlib
import io
import pickle

from .errors import StateError

_BUILTINS = {
    "bool", "int", "float", "complex", "str", "bytes", "bytearray",
    "list", "tuple", "dict", "set", "frozenset", "range", "slice",
    "Ellipsis", "NotImplemented",
}  # fmt: skip
_PATHS = {"PurePath", "PurePosixPath", "PureWindowsPath", "Path", "PosixPath", "WindowsPath"}

#: module -> names a data pickle may use; modules with several homes across
#: Python and numpy versions are listed under each
ALLOWED: dict[str, set[str]] = {
    "builtins": _BUILTINS,
    "datetime": {"date", "time", "datetime", "timedelta", "timezone"},
    "decimal": {"Decimal"},
    "_pydecimal": {"Decimal"},
    "fractions": {"Fraction"},
    "collections": {"OrderedDict", "deque", "Counter", "defaultdict"},
    "uuid": {"UUID"},
    "pathlib": _PATHS,
    "pathlib._local": _PATHS,
    "numpy": {"ndarray", "dtype"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
}


#: a pickle can call allowed constructors with any arguments: `bytes(10**12)`
#: or `list(range(10**12))` would be a memory bomb in a few bytes of pickle
MAX_BUILT_SIZE = 1 << 30


def _checked_range(*args):
    value = range(*args)
    if len(value) > MAX_BUILT_SIZE // 8:
        raise StateError(f"data pickle builds a range of {len(value)} items (memory bomb?)")
    return value


def _checked(kind):
    def build(*args):
        if args and isinstance(args[0], int) and args[0] > MAX_BUILT_SIZE:
            raise StateError(f"data pickle builds {kind.__name__}({args[0]}) (memory bomb?)")
        return kind(*args)

    build.__name__ = build.__qualname__ = kind.__name__
    return build


_GUARDED = {
    ("builtins", "range"): _checked_range,
    ("builtins", "bytes"): _checked(bytes),
    ("builtins", "bytearray"): _checked(bytearray),
}


class MissingModule(Exception):
    """An allowed module (numpy) is not installed here: skip the variable."""


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if name not in ALLOWED.get(module, ()):
            raise StateError(
                f"data pickle refers to {module}.{name}, which is not plain data "
                "(this file may try to run code)"
            )
        if (module, name) in _GUARDED:
            return _GUARDED[module, name]
        try:
            return getattr(importlib.import_module(module), name)
        except ImportError as exc:
            raise MissingModule(f"needs {module.split('.')[0]}, not installed ({exc})") from None

    def persistent_load(self, pid):
        raise StateError("data pickle uses persistent ids")


def restricted_loads(data: bytes):
    """Unpickle `data` allowing only ALLOWED globals; StateError otherwise."""
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except (StateError, MissingModule):
        raise
    except Exception as exc:  # any malformed pickle: UnpicklingError, EOFError...
        raise StateError(f"data pickle is corrupt: {type(exc).__name__}: {exc}") from None
