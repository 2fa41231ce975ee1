"""Loading pickles of plain data without running code from the file, and
without changing anything that existed before.

A pickle names the callables it wants called ("GLOBAL" opcodes); a hostile
one names `os.system` or `builtins.eval`. `find_class` below resolves only an
allowlist of constructors that build values and do nothing else, so data
pickles (`storage: "pickle-data"`) load without trust.

Three more rules keep a data pickle from reaching past the new objects it
builds:

- the pickle never holds a class: `find_class` hands out `Constructor`
  objects (no attributes to set, no state to BUILD), so pickle's BUILD /
  slot state can only reach objects the pickle itself made, never
  `pathlib.PurePath` or `fractions.Fraction` themselves;
- the opcodes are checked before the C unpickler sees them (`scan`): only
  the protocol 5 opcodes our exporter writes, and every length inside the
  data (a `BYTEARRAY8` of 2**40 bytes, a memo index of 2**31 would make the
  C unpickler allocate it up front);
- every constructor call is charged to a `Budget` shared by all the
  variables of one import, and the ones whose cost is not linear in their
  input (`bytes(n)`, `Fraction('1e4000000')`, `Decimal` exponents, `int`
  from text) are capped before they run: C code that Stop cannot reach.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import importlib
import io
import pathlib
import pickle
import sys
import uuid

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

MiB = 1024 * 1024
#: bytes the constructors of one import may build in all (Limits.max_built_bytes)
MAX_BUILT_SIZE = 512 * MiB
#: longest text an int / Fraction / Decimal is parsed from, and the largest
#: decimal exponent (Fraction('1e4000000') computes 10**4000000 in C)
MAX_NUMBER_TEXT = 5_000
MAX_EXPONENT = 100_000
MAX_INT_BITS = 1 << 20


class MissingModule(Exception):
    """An allowed module (numpy) is not installed here: skip the variable."""


class Budget:
    """What the constructors of one import may still build, in bytes."""

    def __init__(self, limit: int = MAX_BUILT_SIZE):
        self.limit, self.used = limit, 0

    def charge(self, size: int, what: str) -> None:
        self.used += max(int(size), 0)
        if self.used > self.limit:
            raise StateError(
                f"data pickles build more than {self.limit // MiB} MiB ({what}; memory bomb?)"
            )


# ---------------------------------------------------------------- opcodes

# argument of each opcode: a fixed length, or one of these kinds
_LINE, _TWO_LINES, _LEN1, _LEN4, _LEN8, _LONG1, _LONG4 = -1, -2, -3, -4, -5, -6, -7
_FIXED = {
    b"\x80": 1,  # PROTO
    b"\x95": 8,  # FRAME
    b".": 0, b"(": 0, b"0": 0, b"1": 0, b"N": 0, b"\x88": 0, b"\x89": 0,
    b"J": 4, b"K": 1, b"M": 2, b"G": 8,
    b"]": 0, b"a": 0, b"e": 0, b")": 0, b"\x85": 0, b"\x86": 0, b"\x87": 0, b"t": 0,
    b"}": 0, b"s": 0, b"u": 0, b"\x8f": 0, b"\x90": 0, b"\x91": 0,
    b"\x93": 0, b"R": 0, b"\x81": 0, b"\x92": 0, b"b": 0, b"\x94": 0,
    b"h": 1, b"j": 4,
}  # fmt: skip
_SIZED = {
    b"\x8c": _LEN1, b"X": _LEN4, b"\x8d": _LEN8,  # SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
    b"C": _LEN1, b"B": _LEN4, b"\x8e": _LEN8, b"\x96": _LEN8,  # bytes, BYTEARRAY8
    b"\x8a": _LONG1, b"\x8b": _LONG4,
    b"c": _TWO_LINES,  # GLOBAL (protocol 0-3 spelling; find_class checks the name)
}  # fmt: skip
_ARG = [None] * 256
for _table in (_FIXED, _SIZED):
    for _op, _kind in _table.items():
        _ARG[_op[0]] = _kind
_LENGTH_BYTES = {_LEN1: 1, _LEN4: 4, _LEN8: 8, _LONG1: 1, _LONG4: 4}


def scan(data: bytes, max_int_bytes: int = MAX_INT_BITS // 8) -> None:
    """StateError unless `data` is a protocol 5 pickle of the opcodes our
    exporter writes (no PUT: protocol 5 memoizes with MEMOIZE; no persistent
    ids, extensions or out-of-band buffers), each argument inside the data."""
    view, end = memoryview(data), len(data)
    if end < 3 or view[0] != 0x80 or view[1] != 5:
        raise StateError("data pickle is not protocol 5 (not written by this exporter)")
    at, arg = 0, _ARG
    while at < end:
        op = view[at]
        kind = arg[op]
        at += 1
        if kind is None:
            raise StateError(f"data pickle uses opcode {bytes([op])!r}, which export never writes")
        if kind >= 0:
            at += kind
        elif kind == _TWO_LINES:
            for _ in range(2):
                newline = data.find(b"\n", at, at + 256)
                if newline < 0:
                    raise StateError("data pickle is corrupt: bad GLOBAL")
                at = newline + 1
        else:
            width = _LENGTH_BYTES[kind]
            size = int.from_bytes(view[at : at + width], "little")
            at += width + size
            if kind in (_LONG1, _LONG4) and size > max_int_bytes:
                raise StateError(f"data pickle holds an int of {size} bytes")
        if at > end:
            raise StateError("data pickle is corrupt: truncated or lying about a length")
        if op == 0x2E:  # STOP
            if at != end:
                raise StateError("data pickle is corrupt: data after its end")
            return
    raise StateError("data pickle is corrupt: no STOP")


# ------------------------------------------------------------ constructors


def _size(value) -> int:
    """What a constructor may copy out of `value`, in bytes."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, tuple, dict, set, frozenset, range, collections.deque)):
        return 8 * len(value)
    return 0


def _check_number_text(text, what) -> None:
    if len(text) > MAX_NUMBER_TEXT:
        raise StateError(f"data pickle builds {what} from {len(text)} characters")
    lowered = text.lower() if isinstance(text, str) else ""
    for mark in ("e",):
        if mark in lowered and "0x" not in lowered:
            tail = lowered.rsplit(mark, 1)[1].strip().lstrip("+-")
            if tail.isdigit() and int(tail) > MAX_EXPONENT:
                raise StateError(f"data pickle builds {what} with exponent {tail[:20]}")


def _check_int(value, what) -> None:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise StateError(f"data pickle builds {what} from an int of {value.bit_length()} bits")


def _check_decimal(value, what) -> None:
    if isinstance(value, decimal.Decimal) and value.is_finite():
        sign, digits, exponent = value.as_tuple()
        if abs(exponent) > MAX_EXPONENT or len(digits) > MAX_NUMBER_TEXT:
            raise StateError(f"data pickle builds {what} with exponent {exponent}")


def _pre_int(args, kwargs):
    if args and isinstance(args[0], (str, bytes, bytearray)):
        _check_number_text(args[0][: MAX_NUMBER_TEXT + 1], "an int")
        if len(args[0]) > MAX_NUMBER_TEXT:
            raise StateError(f"data pickle builds an int from {len(args[0])} characters")
    for value in args:
        _check_decimal(value, "an int")
        if isinstance(value, fractions.Fraction):
            _check_int(value.numerator, "an int")


def _pre_bytes(args, kwargs):
    if args and isinstance(args[0], int):
        return args[0]  # bytes(n): n zero bytes
    if args and isinstance(args[0], str):
        return 4 * len(args[0])
    return 0


def _pre_range(args, kwargs):
    try:
        items = len(range(*args))
    except (TypeError, ValueError, OverflowError) as exc:
        raise StateError(f"data pickle builds a bad range: {exc}") from None
    if items > MAX_BUILT_SIZE // 8:
        raise StateError(f"data pickle builds a range of {items} items (memory bomb?)")
    return 0


def _pre_str(args, kwargs):
    # str(x) of a container reprs it: [[...]*1000]*1000 shared by memo is a
    # repr of 10**6 items from a few bytes; only text and bytes are decoded
    if args and not isinstance(args[0], (str, bytes, bytearray)):
        raise StateError("data pickle calls str() on something other than text")
    return 0


def _pre_number(what):
    def check(args, kwargs):
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, str):
                _check_number_text(value, what)
            _check_int(value, what)
            _check_decimal(value, what)
            if isinstance(value, tuple):  # Decimal((sign, digits, exponent))
                if len(value) == 3 and isinstance(value[2], int) and abs(value[2]) > MAX_EXPONENT:
                    raise StateError(f"data pickle builds {what} with exponent {value[2]}")
                if len(value) == 3 and _size(value[1]) > 8 * MAX_NUMBER_TEXT:
                    raise StateError(f"data pickle builds {what} of many digits")
            if isinstance(value, fractions.Fraction):
                _check_int(value.numerator, what)
                _check_int(value.denominator, what)
        return 0

    return check


def _post_decimal(value):
    _check_decimal(value, "a Decimal")


class Constructor:
    """What `find_class` gives a pickle instead of a class or function:
    callable like it, with nothing to change. A pickle's BUILD on it finds
    no `__setstate__`, no `__dict__`, and `__setattr__` refuses."""

    __slots__ = ("_name", "_make", "_budget", "_pre", "_post", "real")

    def __init__(self, name, make, budget, pre=None, post=None, real=None):
        set_ = object.__setattr__
        set_(self, "_name", name)
        set_(self, "_make", make)
        set_(self, "_budget", budget)
        set_(self, "_pre", pre)
        set_(self, "_post", post)
        set_(self, "real", real if real is not None else make)

    def __setattr__(self, name, value):
        raise StateError(f"data pickle tries to change {self._name} (refused)")

    __delattr__ = __setattr__

    def __reduce__(self):
        raise TypeError("not picklable")

    def __repr__(self):
        return f"<data constructor {self._name}>"

    def __call__(self, *args, **kwargs):
        cost = sum(_size(a) for a in args) + sum(_size(v) for v in kwargs.values())
        if self._pre is not None:
            cost += self._pre(args, kwargs) or 0
        self._budget.charge(cost, self._name)
        try:
            value = self._make(*args, **kwargs)
        except StateError:
            raise
        except Exception as exc:
            raise StateError(f"{self._name}: {type(exc).__name__}: {str(exc)[:100]}") from None
        if self._post is not None:
            self._post(value)
        self._budget.charge(sys.getsizeof(value, 0), self._name)
        return value


def _unwrap(value):
    return value.real if isinstance(value, Constructor) else value


_FACTORIES = {list, dict, set, frozenset, tuple, int, float, str, bool, complex}


def _defaultdict(factory=None, *args):
    factory = _unwrap(factory)
    if factory is not None and factory not in _FACTORIES:
        raise StateError("data pickle gives defaultdict a factory that is not plain data")
    return collections.defaultdict(factory, *args)


def _numpy_makers(module_name, name):
    module = importlib.import_module(module_name)
    numpy = importlib.import_module("numpy")
    real = getattr(module, name)
    if name == "dtype":
        # dtype('f8', False, False) is numpy's shared float64: BUILD on it
        # would change every float array; the exporter's copy=True is new
        def make(obj, align=False, copy=True):
            return numpy.dtype(obj, bool(align), True)

        return make, real
    if name == "_reconstruct":

        def make(subtype, shape, typecode):
            if _unwrap(subtype) is not numpy.ndarray:
                raise StateError("data pickle rebuilds an array of another class")
            return real(numpy.ndarray, shape, typecode)

        return make, real
    if name == "ndarray":
        return real, real
    return real, real


def _uuid_type():
    """UUID pickles use NEWOBJ, which needs a type: a fresh subclass per load
    (so nothing a pickle does to it outlives the load) making plain UUIDs."""

    class FreshUUID(uuid.UUID):
        __slots__ = ()

        def __new__(cls, *args):
            if args:
                raise StateError("data pickle builds a UUID with arguments")
            return object.__new__(uuid.UUID)

    return FreshUUID


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, budget: Budget):
        super().__init__(file)
        self._budget = budget
        self._made: dict = {}

    def find_class(self, module, name):
        if name not in ALLOWED.get(module, ()):
            raise StateError(
                f"data pickle refers to {module}.{name}, which is not plain data "
                "(this file may try to run code)"
            )
        key = (module, name)
        if key not in self._made:
            self._made[key] = self._constructor(module, name)
        return self._made[key]

    def _constructor(self, module, name):
        label = f"{module}.{name}"
        if key_is(module, name, "uuid", "UUID"):
            return _uuid_type()
        if module.startswith("numpy"):
            try:
                make, real = _numpy_makers(module, name)
            except ImportError as exc:
                raise MissingModule(
                    f"needs {module.split('.')[0]}, not installed ({exc})"
                ) from None
            return Constructor(label, make, self._budget, real=real)
        try:
            real = getattr(importlib.import_module(module), name)
        except ImportError as exc:
            raise MissingModule(f"needs {module.split('.')[0]}, not installed ({exc})") from None
        if not callable(real):  # Ellipsis, NotImplemented: immutable singletons
            return real
        pre = post = None
        make = real
        if real is int:
            pre = _pre_int
        elif real in (bytes, bytearray):
            pre = _pre_bytes
        elif real is str:
            pre = _pre_str
        elif real is range:
            pre = _pre_range
        elif real in (fractions.Fraction, float, complex):
            pre = _pre_number(label)
        elif name == "Decimal":
            pre, post = _pre_number(label), _post_decimal
        elif real is collections.defaultdict:
            make = _defaultdict
        return Constructor(label, make, self._budget, pre, post, real=real)

    def persistent_load(self, pid):
        raise StateError("data pickle uses persistent ids")


def key_is(module, name, want_module, want_name) -> bool:
    return module == want_module and name == want_name


def restricted_loads(data: bytes, budget: Budget | None = None):
    """Unpickle `data` allowing only ALLOWED globals; StateError otherwise."""
    scan(data)
    budget = budget or Budget()
    try:
        value = RestrictedUnpickler(io.BytesIO(data), budget).load()
    except (StateError, MissingModule):
        raise
    except Exception as exc:  # any malformed pickle: UnpicklingError, EOFError...
        raise StateError(f"data pickle is corrupt: {type(exc).__name__}: {exc}"[:300]) from None
    if isinstance(value, Constructor):
        raise StateError("data pickle is a constructor, not data")
    return value


# the pickles our exporter writes name these; keep the imports used
_ = (datetime, pathlib)
