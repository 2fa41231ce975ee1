"""The one error a state file can raise."""


class StateError(ValueError):
    """A state file is broken, hostile or from an unknown format version.

    Raised before anything changes: the namespace, the files and the
    kernel are exactly as they were.
    """
