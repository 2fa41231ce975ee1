# ruff: noqa: E501  (hand-made pickles read best one a line)
"""Hostile state files of issue 13, one class at a time; each case is run
in a fresh process by `hostile_child` (see test_classes.py)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import dataclass, field

FORMAT = {"format": "jupyterlite-stream-state", "format_version": 1, "created": "x"}


def su(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def glob(module: str, name: str) -> bytes:
    return su(module) + su(name) + b"\x93"


def build_on_class(module, name, attr, slot_state=True) -> bytes:
    """A protocol 5 pickle whose BUILD targets the class itself."""
    value = glob("builtins", "str")
    if slot_state:
        state = b"N}" + su(attr) + value + b"s\x86"
    else:
        state = b"}" + su(attr) + value + b"s"
    return b"\x80\x05" + glob(module, name) + state + b"b."


def state_file(variables=(), files=(), signature=None) -> bytes:
    """variables: (record, data or None); files: (root, path, data)."""
    manifest = dict(FORMAT, python="3", pyodide=None, variables=[], files=[], packages=[])
    manifest["skipped"] = []
    entries = {}
    for record, data in variables:
        record = dict(record)
        if data is not None:
            record.setdefault("entry", f"variables/{record['name']}")
            record["size"], record["sha256"] = len(data), hashlib.sha256(data).hexdigest()
            entries[record["entry"]] = data
        manifest["variables"].append(record)
    for n, (root, path, data) in enumerate(files):
        entry = f"files/{n}/{path}"
        manifest["files"].append(
            {"root": str(root), "path": path, "entry": entry, "size": len(data),
             "sha256": hashlib.sha256(data).hexdigest()}
        )  # fmt: skip
        entries[entry] = data
    import zipfile

    buffer = io.BytesIO()
    raw = json.dumps(manifest).encode()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", raw)
        for name, data in entries.items():
            zf.writestr(name, data)
        if signature is not None:
            zf.writestr("signature.json", signature(raw))
    return buffer.getvalue()


def hmac_signature(key: bytes):
    import hmac

    return lambda raw: json.dumps(
        {"algorithm": "hmac-sha256", "signature": hmac.new(key, raw, hashlib.sha256).hexdigest()}
    )


@dataclass
class Prepared:
    namespace: dict
    run: object  # ns -> ImportReport
    check: object = None  # (ns, report, message, work) -> None, AssertionError
    preload: tuple = ()


@dataclass
class Case:
    klass: int
    prepare: object  # work -> Prepared
    expect: str  # "refused" | "restored"
    match: str = ""
    seconds: float = 10.0
    peak_mib: float = 200.0
    extra: dict = field(default_factory=dict)


def _import(data, root=None, **options):
    from jupyterlite_stream.runtime.state import import_state

    roots = [str(root)] if root else []
    return lambda ns: import_state(data, namespace=ns, file_roots=roots, **options)


def _ns():
    return {"kept": [1, 2], "get_ipython": "shell's", "print_me": "x"}


CASES: dict[str, Case] = {}


def case(name, klass, expect, match="", **more):
    def register(prepare):
        CASES[name] = Case(klass, prepare, expect, match, **more)
        return prepare

    return register


# ---------------------------------------------------------------- class 1


def _needs_trust(*names):
    def check(ns, report, message, work):
        skipped = {s["name"]: s["reason"] for s in report["skipped"]}
        for name in names:
            assert name not in ns, name
            assert skipped.get(name, "").startswith("needs trust"), skipped

    return check


@case("1-stdlib-side-effect", 1, "restored")
def _(work):
    data = state_file([({"name": "zen", "storage": "module-import", "module": "this"}, None)])

    def check(ns, report, message, work):
        from jupyterlite_stream.runtime.state import inspect_state

        preview = inspect_state(data)
        assert preview.needs_code and preview.needs_trust == ["zen"]
        _needs_trust("zen")(ns, report, message, work)

    return Prepared(_ns(), _import(data), check)


@case("1-print-bound-to-system", 1, "restored")
def _(work):
    record = {"name": "print", "storage": "module-import", "module": "os", "attr": "system"}
    return Prepared(_ns(), _import(state_file([(record, None)])), _needs_trust("print"))


@case("1-planted-module", 1, "restored")
def _(work):
    root = work / "home"
    root.mkdir()
    sys.path.insert(0, str(root))
    code = f"open({str(work / 'pwned')!r}, 'w').close()\n".encode()
    record = {"name": "evil", "storage": "module-import", "module": "evil13"}
    data = state_file([(record, None)], [(root, "evil13.py", code)])

    def check(ns, report, message, work):
        _needs_trust("evil")(ns, report, message, work)
        assert not (work / "pwned").exists()

    return Prepared(_ns(), _import(data, root), check)


@case("1-attribute-path", 1, "restored")
def _(work):
    record = {"name": "x", "storage": "module-import", "module": "os", "attr": "path.os.system"}
    return Prepared(_ns(), _import(state_file([(record, None)])), _needs_trust("x"))


@case("1-signed-with-empty-key", 1, "restored")
def _(work):
    record = {"name": "zen", "storage": "module-import", "module": "this"}
    data = state_file([(record, None)], signature=hmac_signature(b""))
    return Prepared(_ns(), _import(data, signing_key=b""), _needs_trust("zen"))


@case("1-trusted-import-works", 1, "restored")
def _(work):
    record = {"name": "sqrt", "storage": "module-import", "module": "math", "attr": "sqrt"}

    def check(ns, report, message, work):
        assert ns["sqrt"](9) == 3

    return Prepared(_ns(), _import(state_file([(record, None)]), trust=True), check)


# ---------------------------------------------------------------- class 2


def _data(name, payload):
    return ({"name": name, "storage": "pickle-data"}, payload)


for _module, _name, _attr in [
    ("pathlib", "PurePath", "__str__"),
    ("pathlib", "PurePosixPath", "__truediv__"),
    ("fractions", "Fraction", "__add__"),
    ("decimal", "Decimal", "__add__"),
    ("datetime", "datetime", "isoformat"),
    ("collections", "OrderedDict", "__repr__"),
    ("uuid", "UUID", "__str__"),
]:
    for _slots in (True, False):

        def _prepare(work, m=_module, n=_name, a=_attr, s=_slots):
            payload = build_on_class(m, n, a, s)
            data = state_file([_data("p", payload), ({"name": "v", "storage": "json"}, b"1")])
            return Prepared(_ns(), _import(data))

        kind = "slot" if _slots else "dict"
        # uuid's fresh per-load class may take the change: either outcome,
        # the shared uuid.UUID stays as it was (checked for every case)
        CASES[f"2-build-{_name}-{kind}"] = Case(
            2, _prepare, "either" if _name == "UUID" else "refused", "change|refused|not|corrupt"
        )


# ---------------------------------------------------------------- class 3


def _files_case(entries, existing=()):
    def prepare(work):
        root = work / "home"
        root.mkdir()
        for path, kind in existing:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.mkdir() if kind == "dir" else target.write_text("before")
        files = [(root, path, b"new") for path in entries]
        return Prepared(_ns(), _import(state_file([], files), root))

    return prepare


CASES["3-file-then-folder"] = Case(3, _files_case(["data.txt", "data.txt/x"]), "refused", "folder")
CASES["3-folder-then-file"] = Case(3, _files_case(["data.txt/x", "data.txt"]), "refused", "folder")
CASES["3-file-over-existing-folder"] = Case(
    3, _files_case(["sub"], [("sub", "dir")]), "refused", "folder"
)
CASES["3-into-existing-file"] = Case(
    3, _files_case(["data.txt/y"], [("data.txt", "file")]), "refused", "folder"
)
CASES["3-deep"] = Case(3, _files_case(["a/b", "a/b/c/d"], [("a/b", "file")]), "refused", "folder")


# ---------------------------------------------------------------- class 4


def _pickle_case(payload):
    return lambda work: Prepared(_ns(), _import(state_file([_data("p", payload)])))


def _bytes_call(n):
    return glob("builtins", "bytes") + b"\x8a\x05" + n.to_bytes(5, "little") + b"\x85R"


_BIG = 300 * 1024 * 1024
CASES["4-several-objects-under-the-limit"] = Case(
    4,
    lambda work: Prepared(
        _ns(),
        _import(
            state_file([_data(f"b{i}", b"\x80\x05" + _bytes_call(_BIG) + b".") for i in range(4)])
        ),
    ),
    "refused",
    "memory bomb",
    peak_mib=700,
)
CASES["4-fraction-exponent"] = Case(
    4, _pickle_case(b"\x80\x05" + glob("fractions", "Fraction") + su("1e4000000") + b"\x85R."),
    "refused", "exponent", seconds=2,
)  # fmt: skip
CASES["4-decimal-exponent"] = Case(
    4, _pickle_case(b"\x80\x05" + glob("decimal", "Decimal") + su("1e999999999") + b"\x85R."),
    "refused", "exponent", seconds=2,
)  # fmt: skip
CASES["4-int-from-long-text"] = Case(
    4,
    _pickle_case(b"\x80\x05" + glob("builtins", "int") + b"X" + (6000).to_bytes(4, "little") + b"9" * 6000 + b"\x85R."),
    "refused", "characters", seconds=2,
)  # fmt: skip
CASES["4-huge-range"] = Case(
    4,
    _pickle_case(b"\x80\x05" + glob("builtins", "list") + glob("builtins", "range") + b"\x8a\x06" + (10**12).to_bytes(6, "little") + b"\x85R\x85R."),
    "refused", "range", seconds=2,
)  # fmt: skip


def _many_entries(work):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for n in range(20_000):
            zf.writestr(f"e{n}", b"")
    return Prepared(_ns(), _import(buffer.getvalue()))


CASES["4-too-many-entries"] = Case(4, _many_entries, "refused", "too many entries", seconds=1)


def _split_bomb(work):
    import zipfile

    buffer = io.BytesIO()
    chunk = bytes(1000_000)  # under the 1 MiB floor of the per-entry ratio check
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in range(600):
            zf.writestr(f"e{n}", chunk)
    return Prepared(_ns(), _import(buffer.getvalue()))


CASES["4-split-zip-bomb"] = Case(4, _split_bomb, "refused", "ratio", seconds=2)


# ---------------------------------------------------------------- class 5


def _planted(path, on_path=False):
    def prepare(work):
        root = work / "home"
        root.mkdir()
        if on_path:
            sys.path.insert(0, str(root))
        return Prepared(_ns(), _import(state_file([], [(root, path, b"print('pwned')\n")]), root))

    return prepare


for _path, _on_path in [
    (".ipython/profile_default/startup/00-evil.py", False),
    (".local/lib/python3.11/site-packages/evil.pth", False),
    ("lib/site-packages/evil.pth", False),
    ("evil.pth", False),
    ("__pycache__/evil.cpython-311.pyc", False),
    ("random.py", True),
    ("json/__init__.py", True),
]:
    CASES[f"5-{_path}"] = Case(5, _planted(_path, _on_path), "refused", "refused|shadow")
CASES["5-plain-module-restored"] = Case(5, _planted("notes13.py"), "restored")


# ---------------------------------------------------------------- class 6


def _long_name(path):
    def prepare(work):
        root = work / "home"
        root.mkdir()
        first = root / path
        first.parent.mkdir(parents=True, exist_ok=True)
        first.write_bytes(b"old")

        def check(ns, report, message, work):
            assert first.read_bytes() == b"new"

        return Prepared(_ns(), _import(state_file([], [(root, path, b"new")]), root), check)

    return prepare


CASES["6-245-characters"] = Case(6, _long_name("n" * 245), "restored")
CASES["6-255-characters"] = Case(6, _long_name("m" * 255), "restored")
CASES["6-255-bytes-unicode"] = Case(6, _long_name("\u20ac" * 85), "restored")
CASES["6-long-in-new-folder"] = Case(6, _long_name("deep/" * 20 + "x" * 250), "restored")


# ---------------------------------------------------------------- class 7


def _deep_manifest(work):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("manifest.json", "[" * 200_000 + "]" * 200_000)
    return Prepared(_ns(), _import(buffer.getvalue()))


CASES["7-deep-manifest"] = Case(7, _deep_manifest, "refused", "JSON")


def _code_var(name="f"):
    import pickle

    return ({"name": name, "storage": "pickle-code"}, pickle.dumps(len))


for _label, _sig in [
    ("deep", lambda raw: "[" * 2000 + "]" * 2000),
    (
        "non-ascii",
        lambda raw: json.dumps({"algorithm": "hmac-sha256", "signature": "\u00e9" * 64}),
    ),
    ("not-json", lambda raw: "{"),
]:
    CASES[f"7-signature-{_label}"] = Case(
        7,
        lambda work, s=_sig: Prepared(
            _ns(), _import(state_file([_code_var()], signature=s), signing_key=b"k" * 32),
            _needs_trust("f"),
        ),
        "restored",
    )  # fmt: skip


def _system_exit_module(work):
    folder = work / "modules"
    folder.mkdir()
    (folder / "exits13.py").write_text("raise SystemExit(3)\n")
    sys.path.insert(0, str(folder))
    record = {"name": "ex", "storage": "module-import", "module": "exits13"}

    def check(ns, report, message, work):
        reason = {s["name"]: s["reason"] for s in report["skipped"]}["ex"]
        assert "SystemExit" in reason and "ex" not in ns

    return Prepared(_ns(), _import(state_file([(record, None)]), trust=True), check)


CASES["7-system-exit-import"] = Case(7, _system_exit_module, "restored")


def _magic_case(work):
    path = work / "broken.zip"
    path.write_bytes(b"PK not really")

    def run(ns):
        from IPython.core.error import UsageError

        from jupyterlite_stream.runtime.state import StateError, magics

        try:
            magics.import_state_magic(str(path))
        except UsageError as exc:  # what IPython shows as one line
            raise StateError(str(exc)) from None

    return Prepared(_ns(), run, preload=("IPython.core.error",))


CASES["7-magic-short-message"] = Case(7, _magic_case, "refused", "nothing changed")


# ---------------------------------------------------------------- class 8


for _reserved in ("get_ipython", "In", "Out", "exit", "quit", "_oh", "__builtins__"):
    CASES[f"8-{_reserved}"] = Case(
        8,
        lambda work, n=_reserved: Prepared(
            _ns(), _import(state_file([({"name": n, "storage": "json"}, b"1")]))
        ),
        "refused",
        "not allowed",
    )
CASES["8-import-as-get_ipython"] = Case(
    8,
    lambda work: Prepared(
        _ns(),
        _import(state_file([({"name": "get_ipython", "storage": "module-import", "module": "os"}, None)])),
    ),
    "refused",
    "not allowed",
)  # fmt: skip


# ---------------------------------------------------------------- class 9


for _key in (b"", b"k", b"fifteen bytes!!"):
    CASES[f"9-signed-with-{len(_key)}-byte-key"] = Case(
        9,
        lambda work, k=_key: Prepared(
            _ns(),
            _import(state_file([_code_var()], signature=hmac_signature(k)), signing_key=k),
            _needs_trust("f"),
        ),
        "restored",
    )


def _default_key_empty(work):
    from jupyterlite_stream.runtime.state import StateError, set_signing_key

    try:
        set_signing_key(b"")
    except StateError:
        pass
    data = state_file([_code_var()], signature=hmac_signature(b""))
    return Prepared(_ns(), _import(data), _needs_trust("f"))


CASES["9-set-empty-default-key"] = Case(9, _default_key_empty, "restored")


def _export_with_empty_key(work):
    from jupyterlite_stream.runtime.state import export_state

    def run(ns):
        report = export_state(namespace={"a": 1}, signing_key=b"", packages=[], file_roots=[])
        assert not report.signed
        return None

    return Prepared(_ns(), run)


CASES["9-export-with-empty-key-is-unsigned"] = Case(9, _export_with_empty_key, "restored")
