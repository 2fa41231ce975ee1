"""The `jupyter lite build` add-on of jupyterlite-stream.

It puts a self-contained Pyodide distribution into `static/pyodide/` of the
output (core, every wheel the kernel needs at start, the in-kernel runtime and
a lock file listing them) and points our kernel at it in `jupyter-lite.json`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from doit.exceptions import TaskFailed
from jupyter_core.paths import jupyter_path
from jupyterlite_core.addons.base import BaseAddon
from jupyterlite_core.constants import (
    JUPYTER_CONFIG_DATA,
    JUPYTERLITE_JSON,
    LITE_PLUGIN_SETTINGS,
    SETTINGS_OVERRIDES,
)
from traitlets import Unicode, default

from .contents_hash import ListingError, add_content_hashes, listings
from .distribution import (
    CDN_TEMPLATE,
    KERNEL_PACKAGES,
    LOCK,
    Distribution,
    DistributionError,
    assemble,
)
from .early import EarlyStartError, add_early_start, remove_early_start
from .headers import write_header_configs
from .isolation import install_isolation_worker, remove_isolation_worker
from .offline import MANIFEST, write_manifest
from .requirements import read_requirements, resolve
from .runtime_wheel import build_runtime_wheel, runtime_files
from .snapshot import SNAPSHOT, SnapshotError, make_snapshot, remove_snapshot

KERNEL_PLUGIN_ID = "jupyterlite-stream:kernel"
ISOLATION_PLUGIN_ID = "jupyterlite-stream:isolation"
STOCK_KERNEL_PLUGIN_ID = "@jupyterlite/pyodide-kernel-extension:kernel"
#: notebook autosave: seconds between saves unless the site's config says
DOCMANAGER_PLUGIN_ID = "@jupyterlab/docmanager-extension:plugin"
AUTOSAVE_INTERVAL_S = 5
VENDORED_PYODIDE = Path(__file__).parent.parent / "pyodide"
#: where jupyterlite-pyodide-kernel ships piplite, its ipykernel shim and pyodide_kernel
STOCK_WHEELS = Path("@jupyterlite", "pyodide-kernel-extension", "static", "pypi")
STOCK_WHEEL_PREFIXES = ("piplite-", "ipykernel-", "pyodide_kernel-", "widgetsnbextension-4")


class StreamAddon(BaseAddon):
    """Bundle Pyodide and configure the jupyterlite-stream kernel."""

    __all__ = ["build", "post_build"]

    # CLI: `jupyter lite build --pyodide-dist PATH --pyodide-cdn URL`
    aliases = {
        "pyodide-dist": "StreamAddon.pyodide_dist",
        "pyodide-cdn": "StreamAddon.cdn_url",
        "requirements": "StreamAddon.requirements",
        "wheel-cache": "StreamAddon.wheel_cache",
    }

    pyodide_dist = Unicode(
        None,
        allow_none=True,
        help="A full Pyodide distribution (folder or .tar.bz2) to bundle, so that compiled "
        "packages such as numpy also work offline. Default: the minimal one in the package.",
    ).tag(config=True)

    cdn_url = Unicode(
        None,
        allow_none=True,
        help="Where packages that are not bundled are fetched from at run time "
        "(the official Pyodide CDN by default); an empty string turns the fallback off.",
    ).tag(config=True)

    requirements = Unicode(
        None,
        allow_none=True,
        help="A requirements.txt of extra pure-Python packages: their wheels and their "
        "dependencies are downloaded at build time and bundled, so `import X` works offline.",
    ).tag(config=True)

    wheel_cache = Unicode(
        None,
        allow_none=True,
        help="A folder of wheels for --requirements: pip looks only there (no network).",
    ).tag(config=True)

    @default("pyodide_dist")
    def _default_pyodide_dist(self):
        return os.environ.get("JUPYTERLITE_STREAM_PYODIDE_DIST")

    @property
    def output_pyodide(self) -> Path:
        return self.manager.output_dir / "static" / "pyodide"

    def build(self, manager):
        source = self._source_path()
        yield self.task(
            name="pyodide",
            doc="bundle Pyodide, the kernel's wheels and the runtime",
            file_dep=[p for p in self._inputs(source) if p.is_file()],
            targets=[self.output_pyodide / LOCK],
            actions=[(self._assemble, [source])],
        )

    def post_build(self, manager):
        config = manager.output_dir / JUPYTERLITE_JSON
        yield self.task(
            name=f"patch:{JUPYTERLITE_JSON}",
            doc="point the jupyterlite-stream kernel at the bundled Pyodide",
            file_dep=[self.output_pyodide / LOCK],
            actions=[(self._patch_config, [config]), (self._snapshot, [config])],
            # the output's jupyter-lite.json is written anew by every build
            uptodate=[False],
        )
        yield self.task(
            name="isolation",
            doc="cross-origin isolation: service worker and header configs for web hosts",
            actions=[(self._set_up_isolation, [config])],
            uptodate=[False],
        )
        yield self.task(
            name="early-start",
            doc="start the first kernel's worker from the app pages, before JupyterLab loads",
            actions=[(self._set_up_early_start, [config])],
            uptodate=[False],
        )
        yield self.task(
            name="offline",
            doc=f"{MANIFEST}: every file of the site, for the service worker's offline copy",
            actions=[lambda: None],
            # teardown runs once every task of the build is done: the manifest
            # must see the final files (contents listings, jupyter-lite.json)
            teardown=[self._write_offline_manifest],
            uptodate=[False],
        )

        yield self.task(
            name="contents-hash",
            doc="a content hash for each file of the contents listing (students' copies)",
            # after JupyterLite's contents add-on wrote the listings
            file_dep=listings(manager.output_dir),
            actions=[self._hash_contents],
            uptodate=[False],
        )

    def _hash_contents(self) -> TaskFailed | None:
        try:
            count = add_content_hashes(self.manager.output_dir)
        except ListingError as err:
            return TaskFailed(f"[jupyterlite-stream] {err}")
        self.log.info(f"[lite] [jupyterlite-stream] contents: {count} files hashed")

    def _source_path(self) -> Path:
        if self.pyodide_dist:
            return (self.manager.lite_dir / self.pyodide_dist).resolve()
        return VENDORED_PYODIDE

    def _inputs(self, source: Path) -> list[Path]:
        """The distribution, the runtime's sources (an upgraded package
        rebuilds its wheel) and the stock kernel's wheels."""
        inputs = sorted(source.iterdir()) if source.is_dir() else [source]
        inputs += runtime_files()
        if self.requirements:
            inputs.append(self.manager.lite_dir / self.requirements)
        try:
            inputs += self._stock_wheels()
        except DistributionError:
            pass  # the task itself reports it
        return inputs

    def _assemble(self, source: Path) -> TaskFailed | None:
        try:
            dist = Distribution.open(source, scratch=self.manager.cache_dir / "stream-pyodide")
            wheels = [
                *self._stock_wheels(),
                build_runtime_wheel(self.manager.cache_dir / "stream"),
            ]
            extra, depends = self._requirement_wheels(dist)
            cdn = self.cdn_url
            if cdn is None:
                cdn = CDN_TEMPLATE.format(version=dist.version) if dist.version else ""
            lock = assemble(
                dist, [*wheels, *extra], self.output_pyodide, cdn_url=cdn, depends=depends
            )
        except DistributionError as err:
            # a clear message instead of a traceback; the build fails
            return TaskFailed(f"[jupyterlite-stream] {err}")
        local = sum(1 for p in lock["packages"].values() if "://" not in p["file_name"])
        self.log.info(
            f"[lite] [jupyterlite-stream] Pyodide from {dist.root}: {local} packages bundled, "
            f"{len(lock['packages']) - local} from {cdn or 'nowhere (no CDN fallback)'}"
        )

    def _requirement_wheels(self, dist: Distribution) -> tuple[list[Path], dict]:
        """The pure-Python wheels of `requirements` beyond Pyodide's lock."""
        if not self.requirements:
            return [], {}
        path = (self.manager.lite_dir / self.requirements).resolve()
        cache = (self.manager.lite_dir / self.wheel_cache).resolve() if self.wheel_cache else None
        if cache is not None and not cache.is_dir():
            raise DistributionError(f"wheel cache folder not found: {cache}")
        wheels, depends = resolve(
            read_requirements(path),
            dist.lock,
            self.manager.cache_dir / "stream-requirements",
            wheel_cache=cache,
            local={
                n
                for n, e in dist.lock["packages"].items()
                if (dist.root / e["file_name"]).is_file()
            },
        )
        self.log.info(
            f"[lite] [jupyterlite-stream] requirements from {path.name}: "
            f"{', '.join(w.name for w in wheels) or 'all in Pyodide'}"
        )
        return wheels, depends

    def _stock_wheels(self) -> list[Path]:
        for root in jupyter_path("labextensions"):
            folder = Path(root) / STOCK_WHEELS
            if folder.is_dir():
                return [
                    w
                    for w in sorted(folder.glob("*.whl"))
                    if w.name.startswith(STOCK_WHEEL_PREFIXES)
                ]
        raise DistributionError(
            "jupyterlite-pyodide-kernel's wheels (piplite, pyodide_kernel) were not found: "
            "is jupyterlite-pyodide-kernel installed in this environment?"
        )

    def _set_up_isolation(self, config_path: Path) -> None:
        output = self.manager.output_dir
        write_header_configs(output)
        if isolation_by_service_worker(config_path):
            install_isolation_worker(output)
        else:
            remove_isolation_worker(output)

    def _set_up_early_start(self, config_path: Path) -> TaskFailed | None:
        output = self.manager.output_dir
        if _kernel_settings(config_path).get("earlyStart", True) is False:
            remove_early_start(output)
            self.log.info("[lite] [jupyterlite-stream] early kernel start switched off")
            return None
        try:
            apps = add_early_start(output)
        except EarlyStartError as err:
            return TaskFailed(f"[jupyterlite-stream] early kernel start: {err}")
        self.log.info(f"[lite] [jupyterlite-stream] early kernel start in {', '.join(apps)}")
        return None

    def _write_offline_manifest(self) -> None:
        manifest = write_manifest(self.manager.output_dir, self.output_pyodide / LOCK)
        size = sum(entry["size"] for entry in manifest["files"].values())
        self.log.info(
            f"[lite] [jupyterlite-stream] {MANIFEST}: build {manifest['build']}, "
            f"{len(manifest['files'])} files, {size / 2**20:.1f} MiB"
            + ("" if manifest["cache"] else " (offline cache switched off)")
        )

    def _patch_config(self, config_path: Path) -> None:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        data = config.setdefault(JUPYTER_CONFIG_DATA, {})
        plugins = data.setdefault(LITE_PLUGIN_SETTINGS, {})
        stock = plugins.get(STOCK_KERNEL_PLUGIN_ID, {})
        ours = plugins.setdefault(KERNEL_PLUGIN_ID, {})
        ours.setdefault("pyodideUrl", "./static/pyodide/pyodide.mjs")
        ours.setdefault("kernelPackages", list(KERNEL_PACKAGES))
        ours.setdefault("disablePyPIFallback", stock.get("disablePyPIFallback", True))
        ours.setdefault("pipliteUrls", stock.get("pipliteUrls", []))
        # JupyterLab autosaves every 120 s: a reload would lose that much typing
        overrides = data.setdefault(SETTINGS_OVERRIDES, {})
        overrides.setdefault(DOCMANAGER_PLUGIN_ID, {}).setdefault(
            "autosaveInterval", AUTOSAVE_INTERVAL_S
        )
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    def _snapshot(self, config_path: Path) -> None:
        """Make the start-up snapshot (unless `"snapshot": false` in the kernel's
        settings) and tell the kernel where it is; without one the kernel
        starts the long way, so a failure only warns."""
        config = json.loads(config_path.read_text(encoding="utf-8"))
        ours = config[JUPYTER_CONFIG_DATA][LITE_PLUGIN_SETTINGS][KERNEL_PLUGIN_ID]
        ours.pop("snapshotUrl", None)
        if ours.get("snapshot", True) is False:
            remove_snapshot(self.output_pyodide)
            self.log.info("[lite] [jupyterlite-stream] start-up snapshot switched off")
        else:
            try:
                made = make_snapshot(self.output_pyodide, ours["kernelPackages"])
            except SnapshotError as err:
                remove_snapshot(self.output_pyodide)
                self.log.warning(
                    f"[lite] [jupyterlite-stream] no start-up snapshot ({err}): "
                    "the kernel will start without it, a few seconds slower"
                )
            else:
                ours["snapshotUrl"] = f"./static/pyodide/{SNAPSHOT}"
                how = "reused" if made.get("reused") else f"made in {made['ms'] / 1000:.1f} s"
                self.log.info(
                    f"[lite] [jupyterlite-stream] start-up snapshot: {made['modules']} modules, "
                    f"{made['fileBytes'] / 2**20:.1f} MiB, {how}"
                )
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _kernel_settings(config_path: Path) -> dict:
    config = json.loads(config_path.read_text(encoding="utf-8"))
    plugins = config.get(JUPYTER_CONFIG_DATA, {}).get(LITE_PLUGIN_SETTINGS, {})
    return plugins.get(KERNEL_PLUGIN_ID, {})


def isolation_by_service_worker(config_path: Path) -> bool:
    """Whether jupyter-lite.json leaves service-worker isolation on (the default):
    `"litePluginSettings": {"jupyterlite-stream:isolation": {"serviceWorker": false}}`
    switches it off."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    plugins = config.get(JUPYTER_CONFIG_DATA, {}).get(LITE_PLUGIN_SETTINGS, {})
    return plugins.get(ISOLATION_PLUGIN_ID, {}).get("serviceWorker", True) is not False
