"""What the kernel reports about an exception."""


def exception_name(etype):
    """The class name users know (`ZeroDivisionError`), not `str(etype)`
    (`<class 'ZeroDivisionError'>`, which the stock Pyodide kernel sends)."""
    return getattr(etype, "__name__", None) or str(etype)


def install_error_names(shell_class):
    """Patch the lite shell so the error it records carries the class name."""

    def _showtraceback(shell, etype, evalue, stb):
        shell._last_traceback = {
            "ename": exception_name(etype),
            "evalue": str(evalue),
            "traceback": stb,
        }

    shell_class._showtraceback = _showtraceback
