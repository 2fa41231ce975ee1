"""A teacher's `requirements.txt`, turned into wheels bundled with the site.

Each listed package, and each of its dependencies, either comes from
Pyodide's lock (numpy, pandas ... and everything Pyodide builds: never bundled
twice) or is fetched by `pip download` as a pure-Python wheel
(`py3-none-any`). The wheels go into the site's lock like the kernel's own, so
the kernel's `loadPackagesFromImports` before each cell loads them on
`import X`, offline and without `%pip`.

Offline builds: `wheel_cache` is a folder of wheels (`pip download -d DIR -r
requirements.txt` fills it); pip is then run with `--no-index --find-links
DIR` and never touches the network.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

from .distribution import DistributionError, canon


class RequirementsError(DistributionError):
    """A requirement that cannot be bundled; the message names it."""


def read_requirements(path: Path) -> list[Requirement]:
    """The requirements of a file: one per line, `#` comments; pip options
    (`-r`, `--index-url` ...) are refused rather than silently ignored."""
    path = Path(path)
    if not path.is_file():
        raise RequirementsError(f"requirements file not found: {path}")
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise RequirementsError(
                f"{path}:{number}: pip options are not supported here ({line}); "
                "list one package per line, and give a wheel folder with --wheel-cache"
            )
        try:
            found.append(Requirement(line))
        except InvalidRequirement as err:
            raise RequirementsError(f"{path}:{number}: not a requirement: {line} ({err})") from err
    return found


def pyodide_environment(lock: dict) -> dict:
    """Marker values of the browser's Python (emscripten, Pyodide's version)."""
    env = default_environment()
    python = str(lock.get("info", {}).get("python", "")) or env["python_full_version"]
    env.update(
        sys_platform="emscripten",
        platform_system="Emscripten",
        os_name="posix",
        platform_machine="wasm32",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        python_full_version=python,
        python_version=".".join(python.split(".")[:2]),
    )
    return env


def resolve(
    requirements: list[Requirement],
    lock: dict,
    download_dir: Path,
    wheel_cache: Path | None = None,
    local: set[str] | None = None,
) -> tuple[list[Path], dict[str, list[str]]]:
    """Fetch the pure-Python wheels the requirements need beyond Pyodide's lock.

    `local` names the lock's packages whose file the distribution holds (all
    of them by default): those are never fetched. A pure-Python package of the
    lock that would come from the CDN (requests with the minimal distribution)
    is fetched (the requirement's version: it replaces the lock's entry, so
    it is still there once), so it works offline; a compiled one
    stays on the CDN. Returns the wheels and, for each bundled package, the
    dependencies that apply in the browser (markers evaluated).
    """
    packages = {canon(name): entry for name, entry in lock["packages"].items()}
    in_lock = set(packages) if local is None else {canon(n) for n in local}
    env = pyodide_environment(lock)
    download_dir.mkdir(parents=True, exist_ok=True)
    wheels: list[Path] = []
    depends: dict[str, list[str]] = {}
    todo = [(req, "") for req in requirements]
    seen: set[str] = set()
    while todo:
        req, extra = todo.pop(0)
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canon(req.name)
        if name in in_lock or name in seen:
            continue  # Pyodide's own build, or already fetched: the first one wins
        seen.add(name)
        if name in packages and not packages[name]["file_name"].endswith("-none-any.whl"):
            continue  # compiled: Pyodide's build, from its CDN (or --pyodide-dist)
        wheel = _download(req, download_dir, wheel_cache, env)
        wheels.append(wheel)
        subs = _requires(wheel)
        depends[name] = []
        for sub in subs:
            for extra_name in ["", *sorted(req.extras)]:
                if sub.marker is None or sub.marker.evaluate({**env, "extra": extra_name}):
                    depends[name].append(canon(sub.name))
                    todo.append((sub, extra_name))
                    break
    return wheels, depends


def _download(req: Requirement, dest: Path, wheel_cache: Path | None, env: dict) -> Path:
    spec = str(req).split(";")[0].strip()
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--platform=any",
        "--implementation=py",
        "--abi=none",
        f"--python-version={env['python_version']}",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
    ]
    if wheel_cache is not None:
        cmd += ["--no-index", "--find-links", str(wheel_cache)]
    cmd.append(spec)
    before = set(dest.glob("*.whl"))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        where = f"in the wheel cache {wheel_cache}" if wheel_cache else "on the package index"
        lines = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")]
        raise RequirementsError(
            f"{spec}: no pure-Python wheel {where}, so it needs a Pyodide build. "
            "Compiled packages come from Pyodide's lock: from the Pyodide CDN when the "
            "site is online, or bundled with --pyodide-dist (a full Pyodide distribution)."
            + (f" pip said: {lines[-1]}" if lines else "")
        )
    return _find_wheel(req, dest, before)


def _find_wheel(req: Requirement, dest: Path, before: set[Path]) -> Path:
    """The wheel pip put into `dest` for `req` (new, or already there)."""
    name = canon(req.name).replace("-", "_")
    new = [w for w in set(dest.glob("*.whl")) - before]
    candidates = new or [
        w
        for w in dest.glob("*.whl")
        if canon(w.name.split("-")[0]).replace("-", "_") == name
        and req.specifier.contains(w.name.split("-")[1], prereleases=True)
    ]
    if not candidates:
        raise RequirementsError(f"{req}: pip reported success but left no wheel in {dest}")
    return sorted(candidates)[-1]


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(meta_name).decode("utf-8"))
    return [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
