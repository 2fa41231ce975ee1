"""jupyterlite-stream: a JupyterLite Pyodide kernel that can really be interrupted.

This module is imported both at build time (as a JupyterLab/JupyterLite
extension package) and inside the kernel (where `import jupyterlite_stream`
reports the version): keep it free of imports from either side.
"""

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlite-stream"}]
