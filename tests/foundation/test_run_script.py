"""run.py, the one-command launcher: which command its arguments mean."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("run_script", Path(__file__).parents[2] / "run.py")
run_script = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(run_script)


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        ([], ["serve"]),
        (["--port", "5077"], ["serve", "--port", "5077"]),
        (["--host", "0.0.0.0", "--port", "8080"], ["serve", "--host", "0.0.0.0", "--port", "8080"]),
        (["serve", "--port", "5077"], ["serve", "--port", "5077"]),
        (["test", "-q"], ["test", "-q"]),
        (["--help"], ["--help"]),
    ],
)
def test_options_alone_start_the_server(argv, meant):
    assert run_script.with_command(argv) == meant


def test_an_unknown_command_prints_the_usage(capsys):
    assert run_script.main(["nonsense"]) == 2
    assert "python3 run.py serve --port 5077" in capsys.readouterr().out
