import pytest
from jupyter_client.manager import start_new_kernel


@pytest.fixture(scope="module")
def kernel_client(tmp_path_factory):
    """A real ipykernel (CPython) for the module, driven by jupyter_client."""
    cwd = tmp_path_factory.mktemp("kernel")
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60, cwd=str(cwd))
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
