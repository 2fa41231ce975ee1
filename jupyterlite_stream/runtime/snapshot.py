"""What a kernel restored from the build's memory snapshot must redo.

The snapshot was made once, at build time, in Node.js: everything computed at
import time is the same in every browser that restores it, and the files
written then are gone (the file system is not part of the snapshot). Most of
that is harmless (IPython's tables), but random numbers must not repeat from
student to student, local time must be the browser's, and IPython's profile
folder must exist.
"""

from __future__ import annotations

import os
import random
import time


def refresh_after_restore(shell=None) -> None:
    """Reseed what was seeded at build time, read the time zone again and
    recreate the folders the shell made at build time. Called once the
    worker's start-up imports are done: the names they left in the user's
    namespace are the kernel's, hidden as IPython hides its own at start
    (`%who` and state export skip them)."""
    # the module-level generator behind random.random(), shuffle(), choice()...
    random.seed()
    if hasattr(time, "tzset"):
        time.tzset()
    if shell is None:
        return
    # the shell was made at build time, before these names were bound
    shell.user_ns_hidden.update(shell.user_ns)
    profile = getattr(shell, "profile_dir", None)
    if profile is not None:
        os.makedirs(profile.location, exist_ok=True)
        profile.check_dirs()
