import os

import pytest

# Most tests wait on sockets, child processes and timers rather than compute, so the suite runs
# twice as many workers as there are cores (bounded: each worker is a Python process of its own).
MAX_WORKERS = 8


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return min(MAX_WORKERS, max(2, 2 * (os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
