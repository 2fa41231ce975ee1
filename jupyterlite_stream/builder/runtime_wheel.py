"""Package the in-kernel runtime as a wheel the kernel loads at start.

Only `jupyterlite_stream/__init__.py`, `_version.py` and `runtime/` go in: the
build-time code and the prebuilt lab extension stay out of the kernel.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import jupyterlite_stream

PACKAGE = Path(jupyterlite_stream.__file__).parent
NAME = "jupyterlite_stream"
REQUIRES = ["tqdm"]


def runtime_files() -> list[Path]:
    files = [PACKAGE / "__init__.py", PACKAGE / "_version.py"]
    files += sorted(p for p in (PACKAGE / "runtime").rglob("*.py"))
    return files


def build_runtime_wheel(dest: Path) -> Path:
    """Write `jupyterlite_stream-<version>-py3-none-any.whl` into `dest`."""
    version = jupyterlite_stream.__version__
    dist_info = f"{NAME}-{version}.dist-info"
    wheel = dest / f"{NAME}-{version}-py3-none-any.whl"
    dest.mkdir(parents=True, exist_ok=True)
    entries = {p.relative_to(PACKAGE.parent).as_posix(): p.read_bytes() for p in runtime_files()}
    requires = "".join(f"Requires-Dist: {r}\n" for r in REQUIRES)
    entries[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: jupyterlite-stream\nVersion: {version}\n{requires}"
    ).encode()
    entries[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: jupyterlite-stream\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in entries.items()]
    record.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
