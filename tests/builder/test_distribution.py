"""`jupyterlite_stream.builder.distribution`: opening a Pyodide distribution and
assembling the one a site serves, on tiny fake distributions."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from jupyterlite_stream.builder.distribution import (
    CORE_FILES,
    LOCK,
    Distribution,
    DistributionError,
    assemble,
    wheel_entry,
)

from .fakes import file_sha256, lock_entry, make_core, make_dist, make_tarball, make_wheel

CDN = "https://cdn.example.org/pyodide/v1.2.3/full/"
NUMPY_FILE = "numpy-2.0.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"


@pytest.fixture
def dist_dir(tmp_path):
    """a (local, depends on b), b (local), numpy (not local), remote (a URL)."""
    root = tmp_path / "dist"
    a = make_wheel(root, "a", requires=("b",))
    b = make_wheel(root, "b")
    packages = {
        "a": lock_entry("a", a.name, depends=["b"]),
        "b": lock_entry("b", b.name),
        "numpy": lock_entry("numpy", NUMPY_FILE, version="2.0.0"),
        "remote": lock_entry("remote", "https://example.org/remote-1.0-py3-none-any.whl"),
    }
    return make_dist(root, packages)


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out" / "static" / "pyodide"


# -- Distribution.open -----------------------------------------------------------------------


def test_open_folder(dist_dir):
    dist = Distribution.open(dist_dir)
    assert dist.root == dist_dir
    assert set(dist.lock["packages"]) == {"a", "b", "numpy", "remote"}
    assert dist.version == "1.2.3"


def test_open_without_version_file(tmp_path):
    dist = Distribution.open(make_dist(tmp_path / "d", version=None))
    assert dist.version == ""


def test_open_prefers_the_upstream_lock(tmp_path):
    root = make_dist(tmp_path / "d", {"x": lock_entry("x", "x.whl")})
    upstream = {"packages": {"y": lock_entry("y", "y.whl")}}
    (root / "pyodide-lock.upstream.json").write_text(json.dumps(upstream))
    assert set(Distribution.open(root).lock["packages"]) == {"y"}


def test_open_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DistributionError, match="Pyodide distribution not found") as err:
        Distribution.open(missing)
    assert str(missing) in str(err.value)


@pytest.mark.parametrize("core_file", CORE_FILES)
def test_open_folder_without_a_core_file(dist_dir, core_file):
    (dist_dir / core_file).unlink()
    with pytest.raises(DistributionError) as err:
        Distribution.open(dist_dir)
    message = str(err.value)
    assert message.endswith(f"missing {core_file}")  # that one only
    assert str(dist_dir) in message


def test_open_folder_without_lock(dist_dir):
    (dist_dir / LOCK).unlink()
    with pytest.raises(DistributionError, match="missing pyodide-lock.json"):
        Distribution.open(dist_dir)


def test_open_names_every_missing_file(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    with pytest.raises(DistributionError) as err:
        Distribution.open(root)
    for name in (*CORE_FILES, LOCK):
        assert name in str(err.value)


def test_open_lock_not_json(dist_dir):
    (dist_dir / LOCK).write_text("{ not json")
    with pytest.raises(DistributionError, match="not a Pyodide lock file") as err:
        Distribution.open(dist_dir)
    assert str(dist_dir / LOCK) in str(err.value)


def test_open_lock_without_packages(dist_dir):
    (dist_dir / LOCK).write_text(json.dumps({"info": {}}))
    with pytest.raises(DistributionError, match="not a Pyodide lock file") as err:
        Distribution.open(dist_dir)
    assert "packages" in str(err.value)


def test_open_lock_that_is_a_list(dist_dir):
    (dist_dir / LOCK).write_text("[]")
    with pytest.raises(DistributionError, match="not a Pyodide lock file"):
        Distribution.open(dist_dir)


@pytest.mark.parametrize(("suffix", "mode"), [(".tar.bz2", "w:bz2"), (".tar.gz", "w:gz")])
def test_open_archive(dist_dir, tmp_path, suffix, mode):
    archive = make_tarball(dist_dir, tmp_path / f"pyodide-1.2.3{suffix}", mode)
    scratch = tmp_path / "scratch"
    dist = Distribution.open(archive, scratch=scratch)
    assert dist.root == scratch / "pyodide"
    assert dist.version == "1.2.3"
    assert set(dist.lock["packages"]) == {"a", "b", "numpy", "remote"}
    for name in CORE_FILES:
        assert (dist.root / name).read_bytes() == (dist_dir / name).read_bytes()


def test_open_archive_without_scratch(dist_dir, tmp_path):
    archive = make_tarball(dist_dir, tmp_path / "p.tar.gz", "w:gz")
    dist = Distribution.open(archive)
    assert (dist.root / "pyodide.mjs").is_file()
    assert dist.root != dist_dir


def test_open_archive_takes_the_shallowest_distribution(dist_dir, tmp_path):
    # a copy of the core deeper down must not win
    make_core(dist_dir / "node_modules" / "pyodide")
    archive = make_tarball(dist_dir, tmp_path / "p.tar.bz2", "w:bz2")
    dist = Distribution.open(archive, scratch=tmp_path / "scratch")
    assert dist.root == tmp_path / "scratch" / "pyodide"


def test_open_archive_without_pyodide_mjs(dist_dir, tmp_path):
    (dist_dir / "pyodide.mjs").unlink()
    archive = make_tarball(dist_dir, tmp_path / "p.tar.bz2", "w:bz2")
    with pytest.raises(DistributionError, match="holds no pyodide.mjs") as err:
        Distribution.open(archive, scratch=tmp_path / "scratch")
    assert str(archive) in str(err.value)


def test_open_corrupt_archive(tmp_path):
    archive = tmp_path / "broken.tar.bz2"
    archive.write_bytes(b"BZh9 this is not a bzip2 stream" * 10)
    with pytest.raises(DistributionError, match="Cannot unpack") as err:
        Distribution.open(archive, scratch=tmp_path / "scratch")
    assert str(archive) in str(err.value)


@pytest.mark.parametrize(("suffix", "mode"), [(".tar.bz2", "w:bz2"), (".tar.gz", "w:gz")])
def test_open_truncated_archive(dist_dir, tmp_path, suffix, mode):
    """An interrupted download: the stream ends in the middle of a member
    (more than one bzip2 block, so the header still reads)."""
    (dist_dir / "big.txt").write_bytes(b"".join(b"line %d\n" % i for i in range(150_000)))
    archive = make_tarball(dist_dir, tmp_path / f"p{suffix}", mode)
    data = archive.read_bytes()
    archive.write_bytes(data[: int(len(data) * 0.9)])
    with pytest.raises(DistributionError, match="Cannot unpack") as err:
        Distribution.open(archive, scratch=tmp_path / "scratch")
    assert str(archive) in str(err.value)


def test_open_archive_refuses_paths_outside_scratch(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"export {}\n"
        info = tarfile.TarInfo("../outside/pyodide.mjs")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    scratch = tmp_path / "scratch"
    with pytest.raises(DistributionError):
        Distribution.open(archive, scratch=scratch)
    assert not (tmp_path / "outside").exists()


# -- assemble --------------------------------------------------------------------------------


def test_assemble_copies_core_and_local_wheels(dist_dir, out):
    lock = assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("a",))
    for name in CORE_FILES:
        assert (out / name).read_bytes() == (dist_dir / name).read_bytes()
    for key in ("a", "b"):
        entry = lock["packages"][key]
        copied = out / entry["file_name"]
        assert copied.is_file()
        assert copied.read_bytes() == (dist_dir / entry["file_name"]).read_bytes()
        assert entry["sha256"] == file_sha256(copied)
        assert entry["sha256"] != "0" * 64
    assert lock["packages"]["a"]["depends"] == ["b"]


def test_assemble_writes_the_lock_it_returns(dist_dir, out):
    lock = assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("a",))
    assert json.loads((out / LOCK).read_text()) == lock
    assert lock["info"] == {"arch": "wasm32", "python": "3.14.2"}
    assert list(lock["packages"]) == sorted(lock["packages"])


def test_assemble_non_local_entries_point_at_cdn(dist_dir, out):
    lock = assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("a",))
    assert lock["packages"]["numpy"]["file_name"] == CDN + NUMPY_FILE
    assert not (out / NUMPY_FILE).exists()
    # an entry that already is a URL is kept as it is
    remote = lock["packages"]["remote"]["file_name"]
    assert remote == "https://example.org/remote-1.0-py3-none-any.whl"


def test_assemble_without_cdn_drops_non_local_entries(dist_dir, out):
    lock = assemble(Distribution.open(dist_dir), [], out, cdn_url="", required=("a",))
    assert "numpy" not in lock["packages"]
    assert {"a", "b"} <= set(lock["packages"])
    assert not any(NUMPY_FILE in e["file_name"] for e in lock["packages"].values())


def test_assemble_copies_only_what_the_lock_lists(dist_dir, out):
    lock = assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("a",))
    listed = {e["file_name"] for e in lock["packages"].values() if "://" not in e["file_name"]}
    present = {p.name for p in out.iterdir()} - set(CORE_FILES) - {LOCK}
    assert present == listed


def test_assemble_replaces_previous_output(dist_dir, out):
    out.mkdir(parents=True)
    (out / "stale.whl").write_text("old")
    assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("a",))
    assert not (out / "stale.whl").exists()


def test_assemble_canonical_keys(tmp_path, out):
    root = tmp_path / "dist"
    wheel = make_wheel(root, "Foo_Bar")
    dist = make_dist(root, {"Foo_Bar": lock_entry("Foo_Bar", wheel.name)})
    lock = assemble(Distribution.open(dist), [], out, cdn_url=CDN, required=("foo.bar",))
    assert "foo-bar" in lock["packages"]
    assert "Foo_Bar" not in lock["packages"]


def test_assemble_adds_extra_wheels(dist_dir, tmp_path, out):
    extra = make_wheel(
        tmp_path / "extra",
        "c",
        version="0.5",
        requires=(
            "a",
            "D_Pkg>=1.0",
            "e[fast]>=2",
            "f (>=1.0)",
            "colorama; sys_platform == 'win32'",
            "g[x] ; extra == 'test'",
        ),
        modules=("c_pkg/__init__.py", "c_pkg/sub.py", "c_mod.py", "c-0.5.data/scripts/run"),
    )
    lock = assemble(Distribution.open(dist_dir), [extra], out, cdn_url=CDN, required=("a",))
    entry = lock["packages"]["c"]
    assert entry["name"] == "c"
    assert entry["version"] == "0.5"
    assert entry["file_name"] == extra.name
    assert entry["depends"] == ["a", "d-pkg", "e", "f"]
    assert entry["imports"] == ["c_mod", "c_pkg"]
    assert entry["sha256"] == file_sha256(out / extra.name)
    assert (out / extra.name).read_bytes() == extra.read_bytes()


def test_assemble_adds_loose_wheels_of_the_distribution(dist_dir, out):
    """A wheel in the distribution folder that its lock does not list (comm)."""
    loose = make_wheel(dist_dir, "comm", version="0.2.3")
    lock = assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("comm",))
    assert lock["packages"]["comm"]["file_name"] == loose.name
    assert lock["packages"]["comm"]["sha256"] == file_sha256(out / loose.name)


def test_assemble_extra_wheel_replaces_cdn_entry(dist_dir, tmp_path, out):
    extra = make_wheel(tmp_path / "extra", "numpy", version="2.0.0")
    lock = assemble(
        Distribution.open(dist_dir), [extra], out, cdn_url=CDN, required=("a", "numpy")
    )
    assert lock["packages"]["numpy"]["file_name"] == extra.name
    assert (out / extra.name).is_file()


def test_assemble_extra_wheel_does_not_replace_local_entry(dist_dir, tmp_path, out):
    extra = make_wheel(tmp_path / "extra", "b", version="9.9")
    lock = assemble(Distribution.open(dist_dir), [extra], out, cdn_url=CDN, required=("a",))
    assert lock["packages"]["b"]["version"] == "1.0"
    assert not (out / extra.name).exists()


def test_assemble_required_missing(dist_dir, out):
    with pytest.raises(DistributionError) as err:
        assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("a", "zzz"))
    assert "zzz" in str(err.value)
    assert str(dist_dir) in str(err.value)
    assert ": zzz" in str(err.value)  # a and b are fine


def test_assemble_required_only_on_cdn(dist_dir, out):
    with pytest.raises(DistributionError, match="numpy"):
        assemble(Distribution.open(dist_dir), [], out, cdn_url=CDN, required=("numpy",))


def test_assemble_required_only_remote_url(dist_dir, out):
    with pytest.raises(DistributionError, match="remote"):
        assemble(Distribution.open(dist_dir), [], out, cdn_url="", required=("remote",))


def test_assemble_missing_dependency_of_required(tmp_path, out):
    root = tmp_path / "dist"
    top = make_wheel(root, "top", requires=("mid",))
    mid = make_wheel(root, "mid", requires=("bottom",))
    packages = {
        "top": lock_entry("top", top.name, depends=["mid"]),
        "mid": lock_entry("mid", mid.name, depends=["bottom", "numpy"]),
        "numpy": lock_entry("numpy", NUMPY_FILE),
    }
    dist = Distribution.open(make_dist(root, packages))
    with pytest.raises(DistributionError) as err:
        assemble(dist, [], out, cdn_url=CDN, required=("top",))
    message = str(err.value)
    assert message.endswith(": bottom, numpy")


def test_assemble_missing_dependency_of_extra_wheel(dist_dir, tmp_path, out):
    extra = make_wheel(tmp_path / "extra", "kernel", requires=("a", "absent-dep"))
    with pytest.raises(DistributionError, match="absent-dep"):
        assemble(Distribution.open(dist_dir), [extra], out, cdn_url=CDN, required=("kernel",))


def test_assemble_dependency_cycle(tmp_path, out):
    root = tmp_path / "dist"
    x = make_wheel(root, "x")
    y = make_wheel(root, "y")
    packages = {
        "x": lock_entry("x", x.name, depends=["y"]),
        "y": lock_entry("y", y.name, depends=["x"]),
    }
    lock = assemble(Distribution.open(make_dist(root, packages)), [], out, required=("x",))
    assert set(lock["packages"]) == {"x", "y"}


# -- wheel_entry -----------------------------------------------------------------------------


def test_wheel_entry(tmp_path):
    wheel = make_wheel(
        tmp_path,
        "My.Package",
        version="3.1.4",
        requires=("Other_Pkg[extra] ~= 1.0", "win-only ; os_name == 'nt'", "plain"),
        modules=("my_package/__init__.py", "helper.py", "my_package/data/x.txt"),
    )
    entry = wheel_entry(wheel)
    assert entry == {
        "name": "My.Package",
        "version": "3.1.4",
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": file_sha256(wheel),
        "package_type": "package",
        "imports": ["helper", "my_package"],
        "depends": ["other-pkg", "plain"],
        "unvendored_tests": False,
    }


def test_wheel_entry_without_requirements(tmp_path):
    entry = wheel_entry(make_wheel(tmp_path, "solo"))
    assert entry["depends"] == []
    assert entry["imports"] == ["solo"]


def test_wheel_entry_of_real_stock_wheel(repo):
    wheel = next((repo / "jupyterlite_stream" / "pyodide").glob("jedi-*.whl"))
    entry = wheel_entry(wheel)
    assert entry["name"] == "jedi"
    assert wheel.name == f"jedi-{entry['version']}-py2.py3-none-any.whl"
    assert "parso" in entry["depends"]
    assert entry["imports"] == ["jedi"]
