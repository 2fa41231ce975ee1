"""What a kernel restored from the build's snapshot redoes (CPython)."""

from __future__ import annotations

import random
import shutil

from jupyterlite_stream.runtime import refresh_after_restore


def test_random_numbers_do_not_repeat_the_build_machines():
    """Every student's kernel comes from the same memory image: without a
    reseed they would all draw the same "random" numbers."""
    random.seed(1234)  # the state the snapshot froze
    frozen = [random.random() for _ in range(3)]
    random.seed(1234)
    refresh_after_restore()
    assert [random.random() for _ in range(3)] != frozen


def test_ipython_profile_folders_come_back(tmp_path):
    """IPython made them at build time; the restored file system lacks them."""
    from IPython.core.profiledir import ProfileDir

    folder = tmp_path / "profile_default"
    profile = ProfileDir(location=str(folder))
    assert (folder / "startup").is_dir()
    shutil.rmtree(folder)

    class Shell:
        profile_dir = profile
        user_ns: dict = {}
        user_ns_hidden: dict = {}

    refresh_after_restore(Shell())
    assert (folder / "startup" / "README").is_file()
    assert (folder / "security").is_dir()


def test_names_of_the_start_are_hidden_like_ipythons():
    """The shell was made at build time; what the worker imported after the
    restore must not look like the user's variables."""
    import types

    class Shell:
        profile_dir = None
        user_ns = {"In": [], "piplite": types.ModuleType("piplite")}
        user_ns_hidden = {"In": []}

    refresh_after_restore(Shell())
    assert Shell.user_ns_hidden["piplite"] is Shell.user_ns["piplite"]
