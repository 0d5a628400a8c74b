"""The layers in pyproject.toml hold: `lint-imports` passes, and it does fail on a broken contract."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_import_contract_is_kept():
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in result.stdout


def test_a_broken_layer_fails_the_check(tmp_path):
    # The same graph against a contract it breaks: the intake pages do use the lead records,
    # so a contract that puts the records above them must fail. Proves the check can fail.
    config = tmp_path / "broken.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_packages = ["leadrouter", "workers"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "records above intake (deliberately wrong)"\n'
        'type = "layers"\n'
        'layers = ["leadrouter.leads", "leadrouter.intake"]\n'
    )
    result = _lint_imports(str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "leadrouter.leads is not allowed to import leadrouter.intake" not in result.stdout
    assert "leadrouter.intake is not allowed to import leadrouter.leads" in result.stdout
