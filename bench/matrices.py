"""The fault matrix and the hostile-upstream matrix as Markdown tables, for an issue's note.

    python -m bench.matrices                 # both
    python -m bench.matrices --only fault    # tests/e2e/test_fault_matrix.py's: fault x tool family
    python -m bench.matrices --only hostile  # tests/e2e/test_hostile_upstream.py's: case, requests, RSS, time

Each runs its test module in this process (``pytest -n0``): the tests fill the module's table as they
pass, and this prints it. A failing test fails the run; its row is missing from the table.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import pytest

MATRICES = {
    "fault": (
        "tests.e2e.test_fault_matrix",
        "MATRIX",
        ["fault", "family", "outcome", "writes"],
    ),
    "hostile": (
        "tests.e2e.test_hostile_upstream",
        "ROWS",
        ["case", "requests", "writes", "peak RSS", "time", "the model got"],
    ),
}


def table(header: list[str], rows: list[tuple[object, ...]] | list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matrices", description=__doc__)
    parser.add_argument("--only", choices=sorted(MATRICES), help="one matrix (default: both)")
    args = parser.parse_args(argv)
    code = 0
    for name, (module_name, rows_name, header) in MATRICES.items():
        if args.only and name != args.only:
            continue
        path = module_name.replace(".", "/") + ".py"
        code = max(code, int(pytest.main([path, "-n0", "-q", "-p", "no:cacheprovider"])))
        rows = getattr(importlib.import_module(module_name), rows_name)
        print(f"\n{name} matrix ({path}):\n\n{table(header, rows)}\n", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
