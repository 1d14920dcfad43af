import os
import sys

import pytest

# Most tests wait on sockets, child processes and timers rather than compute, so the suite runs
# three workers a core (bounded: each worker is a Python process of its own). On 2 cores: 6 workers
# 108 s, 4 workers 113 s, 8 workers 113 s.
WORKERS_PER_CORE = 3
MAX_WORKERS = 8

# The suite starts about a hundred Python processes (servers, CLIs, SQL engines, refreshers), and
# every worker imports every test module. With bytecode caching off (PYTHONDONTWRITEBYTECODE, set
# in some CI images and shells) each of them compiles the package and rewrites the tests again:
# ~0.2 s a process, ~5 s a worker. The caches go to __pycache__ folders, which git ignores.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return min(MAX_WORKERS, max(2, WORKERS_PER_CORE * (os.cpu_count() or 1)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of a module that drives Chromium (imports from tests/browser.py) is a real-process test;
    the other real-process modules say so themselves (``pytestmark = pytest.mark.real_process``)."""
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and any(
            getattr(value, "__module__", None) == "tests.browser" for value in vars(module).values()
        ):
            item.add_marker(pytest.mark.real_process)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No EDFS_MCP_* setting of the caller's in this process's environment (config's own rule)."""
    from tests.harness import drop_settings

    drop_settings(monkeypatch)
