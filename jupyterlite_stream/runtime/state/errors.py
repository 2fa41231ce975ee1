"""The one error a state file can raise."""

#: a message is for a person to read: the text of a library error it quotes
#: (zipfile's can hold a whole header) is cut to this many characters
MAX_MESSAGE = 300


class StateError(ValueError):
    """A state file is broken, hostile or from an unknown format version.

    Raised before anything changes: the namespace, the files and the
    kernel are exactly as they were.
    """

    def __init__(self, message: str = "", *args):
        text = " ".join(str(message).split())
        if len(text) > MAX_MESSAGE:
            text = text[: MAX_MESSAGE - 3] + "..."
        super().__init__(text, *args)
