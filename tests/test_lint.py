"""The code passes the project's lint rules (pyproject.toml [tool.ruff]): unused imports, undefined names,
import order, outdated idioms and likely bugs are caught by the test run, not by a reviewer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the test dependencies (pip install -e '.[test]')"
    result = subprocess.run([ruff, "check", "service", "workflows", "storage", "tests", "bench"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
