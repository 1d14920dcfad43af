"""kill -9 in the middle of refreshes and saves: the next start is still signed in.

Real processes, a real sandbox on loopback, real SIGKILLs at random moments (bench/kill_loop.py).
The counts here keep the test short; the figures for 120 kills come from
``python -m bench.kill_loop`` (refresh loop) and ``... --save`` (save loop). Set
KILL_LOOP_KILLS to run more here.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

from bench.kill_loop import run_refresh_kills, run_save_kills
from edfs_mcp.sandbox import SandboxServer

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL and /proc"),
    pytest.mark.real_process,
]

KILLS = int(os.environ.get("KILL_LOOP_KILLS", "0"))


def test_kill_9_during_refreshes_never_signs_the_person_out(sandbox: SandboxServer, tmp_path: Path) -> None:
    kills = KILLS or 12
    figures = run_refresh_kills(sandbox, tmp_path / "config", kills, random.Random())  # noqa: S311
    print(figures.summary())
    assert figures.kills == kills
    assert figures.sign_outs == 0, figures.summary()
    assert figures.secret_temps_after_start == 0, figures.summary()
    assert figures.rounds > kills  # every start refreshed (and the first one several times)


def test_kill_9_during_saves_loses_no_acknowledged_save(tmp_path: Path) -> None:
    kills = KILLS or 40
    figures = run_save_kills(tmp_path / "config", kills, random.Random())  # noqa: S311
    print(figures.summary())
    assert figures.kills == kills
    assert figures.lost_saves == 0, figures.summary()
    assert figures.secret_temps_after_start == 0, figures.summary()
