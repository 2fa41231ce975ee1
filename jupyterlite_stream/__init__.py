"""jupyterlite-stream: a JupyterLite Pyodide kernel that can really be interrupted.

This module is imported both at build time (as a JupyterLab/JupyterLite
extension package) and inside the kernel (where `import jupyterlite_stream`
reports the version): keep it free of imports from either side.
"""

from ._version import __version__

__all__ = ["__version__"]


def load_ipython_extension(ipython):
    """`%load_ext jupyterlite_stream`: tqdm line mode in any IPython kernel
    (JupyterLab's ipykernel too); load it before importing tqdm."""
    from .runtime.tqdm_line import install_tqdm_line_mode

    install_tqdm_line_mode(ipython)


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlite-stream"}]
