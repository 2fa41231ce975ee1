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

    refresh_after_restore(Shell())
    assert (folder / "startup" / "README").is_file()
    assert (folder / "security").is_dir()
