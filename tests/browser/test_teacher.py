"""The teacher's loop in the browser: the student's changed copy is marked,
can be reset to the teacher's version (kept as a backup), a teacher's update
is announced when the notebook is opened, a link opens the teacher's version,
and Download My Work holds exactly what the student changed or created.

A small course site is built once for the module; the last test builds it
again with a changed notebook into the same folder, as a teacher does.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .driver import LitePage, closing_pages
from .notebook import answer, dialog, run_all
from .server import SiteServer

pytestmark = pytest.mark.browser

SITE_NAME = "Teacher test course"
CONFIG = {
    "jupyter-lite-schema-version": 0,
    "jupyter-config-data": {
        "appName": SITE_NAME,
        "exposeAppInBrowser": True,
        "litePluginSettings": {
            # neither is what these tests are about; both make the build shorter
            "jupyterlite-stream:isolation": {"serviceWorker": False},
            "jupyterlite-stream:kernel": {"snapshot": False},
        },
    },
}
BROWSER_ITEM = ".jp-DirListing-item"
SCREENSHOTS = Path(__file__).parent / "screenshots"
REPO = Path(__file__).resolve().parents[2]
DEMO = "hand-in-your-work.ipynb"


def notebook(*sources: str) -> str:
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": []}
        | {"execution_count": None}
        for i, s in enumerate(sources)
    ]
    return json.dumps(
        {
            "cells": cells,
            "metadata": {"kernelspec": {"name": "python", "display_name": "Python (Pyodide)"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def write_course(content: Path, version: int) -> None:
    content.mkdir(exist_ok=True)
    (content / "lesson.ipynb").write_text(notebook(f"print('teacher lesson v{version}')"))
    (content / "exercise.ipynb").write_text(notebook(f"answer = {version}  # teacher exercise"))
    (content / "untouched.ipynb").write_text(notebook("print('nobody changes me')"))
    shutil.copy(REPO / "content" / DEMO, content / DEMO)


def build(lite_dir: Path) -> Path:
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(CONFIG))
    command = [sys.executable, "-m", "jupyterlite_stream.builder.cli", "build"]
    command += ["--contents", "content", "--output-dir", "_output"]
    subprocess.run(command, cwd=lite_dir, check=True, capture_output=True)
    return lite_dir / "_output"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    lite_dir = tmp_path_factory.mktemp("course")
    write_course(lite_dir / "content", version=1)
    # a host that has browsers check for a newer file on every visit (GitHub
    # Pages lets them keep one for 10 minutes: an update shows after that)
    server = SiteServer(
        build(lite_dir), isolated=True, extra_headers={"Cache-Control": "no-cache"}
    )
    yield lite_dir, server
    server.stop()


@pytest.fixture
def student(browser, course):
    """A new browser profile on the course site, showing the file browser."""

    def new_page() -> LitePage:
        return LitePage(browser.new_context(accept_downloads=True), course[1].base)

    with closing_pages(new_page) as new:

        def make() -> LitePage:
            page = new()
            open_lab(page)
            return page

        yield make


def open_lab(page: LitePage, query: str = "") -> None:
    page.page.goto(f"{page.base}lab/index.html{query}")
    page.page.locator(BROWSER_ITEM).first.wait_for(timeout=60_000)


def item(page: LitePage, name: str):
    """The file browser's item of `name`."""
    text = page.page.locator(
        ".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")
    )
    return page.page.locator(BROWSER_ITEM, has=text)


def open_notebook(page: LitePage, name: str) -> None:
    item(page, name).dblclick()
    page.page.wait_for_function(
        """(name) => { const w = window.jupyterapp.shell.currentWidget;
          return w && w.context && w.context.path === name && w.context.isReady; }""",
        arg=name,
        timeout=30_000,
    )


def shown_sources(page: LitePage) -> str:
    """The text of the code cells of the notebook in front, as shown."""
    return page.page.evaluate(
        """() => Array.from(window.jupyterapp.shell.currentWidget.content.widgets,
                  (c) => c.model.sharedModel.getSource()).join('\\n')"""
    )


def wait_shown(page: LitePage, text: str) -> None:
    page.page.wait_for_function(
        """(text) => { const w = window.jupyterapp.shell.currentWidget;
          return !!w && !!w.content && Array.from(w.content.widgets,
            (c) => c.model.sharedModel.getSource()).join('\\n').includes(text); }""",
        arg=text,
        timeout=30_000,
    )


def edit_and_save(page: LitePage, name: str, source: str) -> None:
    """Open `name`, replace its first cell's text, save it."""
    open_notebook(page, name)
    page.page.evaluate(
        """(source) => window.jupyterapp.shell.currentWidget.content.widgets[0]
             .model.sharedModel.setSource(source)""",
        source,
    )
    save(page)


def save(page: LitePage) -> None:
    """Save the notebook in front, as File -> Save Notebook does, and again
    if the kernel's start dirtied it meanwhile (it writes `language_info`)."""
    page.page.evaluate(
        """async () => { const context = window.jupyterapp.shell.currentWidget.context;
          for (let i = 0; i < 20 && (i === 0 || context.model.dirty); i++) {
            await context.save();
            await new Promise((done) => setTimeout(done, 500));
          } }"""
    )
    assert page.page.evaluate("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def stored(page: LitePage, path: str):
    """A file's content as the site gives it to the student."""
    return page.page.evaluate(
        "(p) => window.jupyterapp.serviceManager.contents.get(p, {content: true})"
        ".then(m => m.content, () => null)",
        path,
    )


def first_source(model) -> str:
    source = model["cells"][0]["source"]
    return "".join(source) if isinstance(source, list) else source


def test_changed_notebook_is_marked_and_reset_brings_back_the_teachers(student):
    page = student()
    assert "jp-stream-modified" not in (item(page, "lesson.ipynb").get_attribute("class") or "")
    edit_and_save(page, "lesson.ipynb", "print('my own answer')")
    marked = page.page.locator(f"{BROWSER_ITEM}.jp-stream-modified")
    marked.wait_for(timeout=30_000)
    assert marked.count() == 1
    assert "lesson.ipynb" in marked.inner_text()
    assert "You changed this file" in marked.get_attribute("title")
    SCREENSHOTS.mkdir(exist_ok=True)
    items = page.page.locator(BROWSER_ITEM)
    top, bottom = items.first.bounding_box(), items.last.bounding_box()
    page.page.screenshot(
        path=str(SCREENSHOTS / "changed-file-mark.png"),
        clip={**top, "height": bottom["y"] + bottom["height"] - top["y"]},
    )

    item(page, "lesson.ipynb").click(button="right")
    page.page.locator(".lm-Menu-item", has_text="Reset to the Teacher's Version").click()
    asked = dialog(page, "lesson (my version).ipynb", timeout_ms=30_000)
    answer(asked, "Reset to the teacher's version")

    wait_shown(page, "teacher lesson v1")
    assert "my own answer" not in shown_sources(page)
    item(page, "lesson (my version).ipynb").wait_for(timeout=30_000)
    assert first_source(stored(page, "lesson (my version).ipynb")) == "print('my own answer')"
    assert first_source(stored(page, "lesson.ipynb")) == "print('teacher lesson v1')"
    page.page.wait_for_function(
        "() => !document.querySelector('.jp-DirListing-item.jp-stream-modified')",
        timeout=30_000,
    )


def test_download_my_work_holds_exactly_what_the_student_changed_or_made(student):
    page = student()
    edit_and_save(page, "lesson.ipynb", "print('handed in')")
    # opened and saved without a change: not the student's work
    open_notebook(page, "untouched.ipynb")
    save(page)
    page.page.evaluate(
        "() => window.jupyterapp.serviceManager.contents.save('notes.txt',"
        " {type: 'file', format: 'text', content: 'my notes\\n'})"
    )
    item(page, "notes.txt").wait_for(timeout=30_000)
    # an edit not saved yet goes into the zip too (what the student sees)
    open_notebook(page, "lesson.ipynb")
    page.page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets[0]
             .model.sharedModel.setSource("print('handed in, last edit')")"""
    )

    page.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
    with page.page.expect_download(timeout=30_000) as got:
        page.page.locator(".lm-Menu-item", has_text="Download My Work").click()
    download = got.value
    day = datetime.date.today().isoformat()
    assert download.suggested_filename == f"Teacher-test-course-{day}.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as zipped:
        assert sorted(zipped.namelist()) == ["lesson.ipynb", "manifest.json", "notes.txt"]
        assert first_source(json.loads(zipped.read("lesson.ipynb"))) == (
            "print('handed in, last edit')"
        )
        assert zipped.read("notes.txt") == b"my notes\n"
        manifest = json.loads(zipped.read("manifest.json"))
    assert manifest["site"] == SITE_NAME
    assert {f["path"]: f["status"] for f in manifest["files"]} == {
        "lesson.ipynb": "changed",
        "notes.txt": "created",
    }


def test_download_my_work_with_kernel_state(student):
    """The palette's *Download My Work with Kernel State*: the open notebook's
    kernel state file is in the zip too (format of Export Kernel State)."""
    page = student()
    edit_and_save(page, "exercise.ipynb", "answer = 42")
    page.wait_kernel_idle()
    assert page.execute("answer = 42")["reply"]["status"] == "ok"
    with page.page.expect_download(timeout=60_000) as got:
        page.page.evaluate(
            "() => { window.jupyterapp.commands.execute("
            "'jupyterlite-stream:download-my-work', {kernelState: true}); }"
        )
    with zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes())) as zipped:
        names = sorted(zipped.namelist())
        assert names == ["exercise.ipynb", "kernel-state/exercise-state.zip", "manifest.json"]
        state = zipfile.ZipFile(io.BytesIO(zipped.read("kernel-state/exercise-state.zip")))
        manifest = json.loads(zipped.read("manifest.json"))
    variables = json.loads(state.read("manifest.json"))["variables"]
    assert "answer" in [v["name"] for v in variables]
    statuses = {f["path"]: f["status"] for f in manifest["files"]}
    assert statuses["kernel-state/exercise-state.zip"] == "kernel-state"


def test_the_demo_notebook_hands_in_its_file(student):
    """content/hand-in-your-work.ipynb as a student runs it: the file its
    code writes shows in the file browser and goes into Download My Work."""
    page = student()
    open_notebook(page, DEMO)
    page.wait_kernel_idle()
    run_all(page)
    shown = "\n".join(page.page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "My favourite number is 7" in shown
    item(page, "my-answers.txt").wait_for(timeout=30_000)
    with page.page.expect_download(timeout=60_000) as got:
        page.page.evaluate(
            "() => { window.jupyterapp.commands.execute('jupyterlite-stream:download-my-work'); }"
        )
    with zipfile.ZipFile(io.BytesIO(Path(got.value.path()).read_bytes())) as zipped:
        assert sorted(zipped.namelist()) == [DEMO, "manifest.json", "my-answers.txt"]
        assert zipped.read("my-answers.txt") == b"My favourite number is 7\n"


def test_fresh_link_opens_the_teachers_version_and_keeps_mine(student):
    page = student()
    edit_and_save(page, "exercise.ipynb", "answer = 'mine'")
    open_lab(page, "?path=exercise.ipynb&fresh=1")
    wait_shown(page, "teacher exercise")
    assert "fresh" not in page.page.url
    assert first_source(stored(page, "exercise (my version).ipynb")) == "answer = 'mine'"
    page.page.get_by_text("is opened as the teacher wrote it").wait_for(timeout=30_000)


def test_records_written_by_something_else_are_ignored(student):
    """Browser storage holding garbage under our key: a warning in the
    console, and the marks still work."""
    page = student()
    page.page.evaluate("localStorage.setItem('jupyterlite-stream:original:/', '{not json')")
    open_lab(page)
    edit_and_save(page, "untouched.ipynb", "print('changed after all')")
    page.page.locator(f"{BROWSER_ITEM}.jp-stream-modified").wait_for(timeout=30_000)
    assert any("unreadable jupyterlite-stream:original:/" in line for line in page.console)
    records = json.loads(page.page.evaluate("localStorage['jupyterlite-stream:original:/']"))
    assert len(records["untouched.ipynb"]) == 64  # the teacher's sha256 it was made from


def test_a_broken_copy_is_marked_and_can_be_reset(student):
    """A stored copy that is no notebook at all (written by something else):
    marked, and the command with `{path}` brings the teacher's back, keeping
    the broken one as the backup."""
    page = student()
    page.page.evaluate(
        "() => window.jupyterapp.serviceManager.contents.save('untouched.ipynb',"
        " {type: 'notebook', format: 'json', content: 'not a notebook'})"
    )
    page.page.locator(f"{BROWSER_ITEM}.jp-stream-modified").wait_for(timeout=30_000)
    page.page.evaluate(
        "() => { window.jupyterapp.commands.execute("
        "'jupyterlite-stream:reset-to-original', {path: 'untouched.ipynb'}); }"
    )
    answer(dialog(page, "untouched (my version).ipynb"), "Reset to the teacher's version")
    item(page, "untouched (my version).ipynb").wait_for(timeout=30_000)
    assert stored(page, "untouched (my version).ipynb") == "not a notebook"
    assert first_source(stored(page, "untouched.ipynb")) == "print('nobody changes me')"


def test_teachers_update_is_announced_with_both_choices(student, course):
    """Runs last: it builds the course again with changed notebooks."""
    lite_dir, _ = course
    page = student()
    edit_and_save(page, "lesson.ipynb", "print('my lesson')")
    edit_and_save(page, "exercise.ipynb", "answer = 'my exercise'")
    # nothing announced before the teacher publishes anything new
    open_lab(page, "?path=lesson.ipynb")
    wait_shown(page, "my lesson")
    assert page.page.get_by_text("The teacher has updated").count() == 0

    write_course(lite_dir / "content", version=2)
    build(lite_dir)

    # the same browser profile, the site published again
    open_lab(page)
    marked = page.page.locator(f"{BROWSER_ITEM}.jp-stream-modified.jp-stream-updated")
    marked.first.wait_for(timeout=30_000)
    assert "new version" in marked.first.get_attribute("title")

    open_notebook(page, "lesson.ipynb")
    wait_shown(page, "my lesson")
    notice = page.page.locator(
        ".jp-Notification-Toast-warning, .Toastify__toast", has_text="updated"
    )
    # (the exercise, open again from the last visit, may have its own notice)
    about_lesson = notice.filter(has_text="lesson.ipynb")
    about_lesson.wait_for(timeout=30_000)
    about_lesson.get_by_role("button", name="Open the teacher's new version").click()
    wait_shown(page, "teacher lesson v2")
    assert first_source(stored(page, "lesson (my version).ipynb")) == "print('my lesson')"

    open_notebook(page, "exercise.ipynb")
    wait_shown(page, "my exercise")
    about_exercise = notice.filter(has_text="exercise.ipynb")
    about_exercise.wait_for(timeout=30_000)
    about_exercise.get_by_role("button", name="Keep mine").click()
    assert "my exercise" in shown_sources(page)
    assert first_source(stored(page, "exercise.ipynb")) == "answer = 'my exercise'"
    assert stored(page, "exercise (my version).ipynb") is None

    # kept: not asked again on the next visit
    open_lab(page, "?path=exercise.ipynb")
    wait_shown(page, "my exercise")
    page.page.wait_for_timeout(2000)  # the notice would come within this
    assert page.page.get_by_text("The teacher has updated").count() == 0
