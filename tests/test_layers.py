"""The layers hold (pyproject.toml [tool.importlinter]): service -> workflows -> storage, and inside each package
the subpackages in their order. import-linter reads every import, also one written inside a function, so an
import cannot hide a cycle there."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert command, "import-linter is part of the test dependencies (pip install -e '.[test]')"
    return subprocess.run([command, "--no-cache", *args], cwd=cwd, capture_output=True, text=True)


def test_every_layer_contract_is_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_inside_a_function_breaks_a_contract(tmp_path):
    package = tmp_path / "layered"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "high.py").write_text("from layered import low\n")
    (package / "low.py").write_text(textwrap.dedent("""
        def helper():
            from layered import high  # the kind of import that dodges a cycle at load time
            return high
    """))
    (tmp_path / ".importlinter").write_text(textwrap.dedent("""
        [importlinter]
        root_package = layered

        [importlinter:contract:layers]
        name = high over low
        type = layers
        layers =
            layered.high
            layered.low
    """))
    result = lint_imports("--config", ".importlinter", cwd=tmp_path)
    assert result.returncode == 1 and "BROKEN" in result.stdout, result.stdout + result.stderr
    assert "layered.low -> layered.high" in result.stdout
