"""`jupyterlite-stream init`: the course folder a teacher starts from."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from jupyterlite_stream import __version__
from jupyterlite_stream.builder import cli
from jupyterlite_stream.builder.scaffold import (
    BUILD_COMMAND,
    OUTPUT_DIR,
    STARTER_NOTEBOOK,
    course_files,
)

EXPECTED = {
    STARTER_NOTEBOOK,
    "jupyter-lite.json",
    "requirements.txt",
    ".gitignore",
    ".github/workflows/deploy.yml",
    "README.md",
}


def files_in(folder) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def workflow(folder) -> dict:
    return yaml.safe_load((folder / ".github/workflows/deploy.yml").read_text())


def build_step(flow: dict) -> dict:
    (step,) = [
        s
        for s in flow["jobs"]["build"]["steps"]
        if s.get("run", "").startswith("jupyterlite-stream build")
    ]
    return step


def test_init_writes_the_course(tmp_path, capsys):
    folder = tmp_path / "my-course"
    assert cli.main(["init", str(folder)]) == 0
    assert files_in(folder) == EXPECTED
    said = capsys.readouterr().out
    for rel in EXPECTED:
        assert f"wrote {rel}" in said
    notebook = json.loads((folder / STARTER_NOTEBOOK).read_text())
    assert notebook["nbformat"] == 4
    assert [c["cell_type"] for c in notebook["cells"]] == ["markdown", "code", "markdown"]
    config = json.loads((folder / "jupyter-lite.json").read_text())
    assert config["jupyter-config-data"]["appName"] == "My course"
    requirements = (folder / "requirements.txt").read_text().splitlines()
    active = [line for line in requirements if line.strip() and not line.startswith("#")]
    assert active == [f"jupyterlite-stream=={__version__}"]
    assert "# pandas" in requirements
    ignored = (folder / ".gitignore").read_text().splitlines()
    assert f"{OUTPUT_DIR}/" in ignored and ".jupyterlite.doit.db" in ignored
    readme = (folder / "README.md").read_text()
    assert "GitHub Actions" in readme and "github.io" in readme and "&fresh=1" in readme


def test_workflow_is_what_pages_needs(tmp_path):
    cli.main(["init", str(tmp_path / "c")])
    flow = workflow(tmp_path / "c")
    # PyYAML reads the key `on` as True (YAML 1.1)
    triggers = flow.get("on", flow.get(True))
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers
    assert flow["permissions"]["pages"] == "write"
    assert flow["permissions"]["id-token"] == "write"
    assert flow["concurrency"]["group"]
    steps = flow["jobs"]["build"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert steps[1]["with"]["cache"] == "pip"
    assert any(s.get("run") == "pip install -r requirements.txt" for s in steps)
    build = build_step(flow)
    assert build["run"] == BUILD_COMMAND
    argv = shlex.split(build["run"])
    built_into = argv[argv.index("--output-dir") + 1]
    contents = argv[argv.index("--contents") + 1]
    assert contents == "content"
    # the artifact is the folder the build writes, uploaded after the build
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload["with"]["path"] == built_into
    assert steps.index(upload) > steps.index(build)
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert "steps.deployment.outputs.page_url" in deploy["environment"]["url"]
    assert deploy["steps"][0]["id"] == "deployment"


def test_init_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not empty" in err and "--force" in err
    assert files_in(tmp_path) == {"notes.txt"}


def test_init_never_overwrites(tmp_path, capsys):
    (tmp_path / "README.md").write_text("my own readme")
    (tmp_path / "content").mkdir()
    (tmp_path / STARTER_NOTEBOOK).write_text("{}")
    assert cli.main(["init", str(tmp_path), "--force"]) == 0
    said = capsys.readouterr().out
    assert "kept README.md" in said and f"kept {STARTER_NOTEBOOK}" in said
    assert "wrote README.md" not in said and "wrote requirements.txt" in said
    assert (tmp_path / "README.md").read_text() == "my own readme"
    assert (tmp_path / STARTER_NOTEBOOK).read_text() == "{}"
    assert files_in(tmp_path) == EXPECTED


def test_init_again_keeps_everything(tmp_path, capsys):
    cli.main(["init", str(tmp_path / "c")])
    (tmp_path / "c" / "requirements.txt").write_text("changed\n")
    capsys.readouterr()
    assert cli.main(["init", str(tmp_path / "c"), "--force"]) == 0
    assert "wrote" not in capsys.readouterr().out
    assert (tmp_path / "c" / "requirements.txt").read_text() == "changed\n"


@pytest.mark.parametrize("clash", ["a-file", ".github"])
def test_init_refuses_files_in_the_way(tmp_path, capsys, clash):
    """A file where the course needs a folder (or is the folder) stops
    `init` before it writes anything."""
    (tmp_path / clash).write_text("x")
    target = tmp_path / clash if clash == "a-file" else tmp_path
    assert cli.main(["init", str(target), "--force"]) == 1
    assert "nothing was written" in capsys.readouterr().err
    assert files_in(tmp_path) == {clash}


def test_every_template_is_in_the_list():
    assert set(course_files("x")) == EXPECTED
