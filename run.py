#!/usr/bin/env python3
"""Bootstrap and run leadrouter with nothing but Python 3.11+.

python3 run.py                       # create .venv, install, migrate, seed demo data, start the helpline
python3 run.py serve --port 5077     # the same on another port (--host too); `serve` may be left out
python3 run.py test                  # create .venv, install with test tools, run the whole test suite
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_environment(extras: str) -> None:
    """Create the virtual environment and install the project into it (quietly, once per change)."""
    if sys.version_info < (3, 11):
        sys.exit(f"leadrouter needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not (BIN / "python").exists():
        print("creating virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    pyproject = ROOT / "pyproject.toml"
    if not (stamp.exists() and stamp.stat().st_mtime >= pyproject.stat().st_mtime):
        print("installing leadrouter and its dependencies ...", flush=True)
        target = f".[{extras}]" if extras else "."
        subprocess.run([BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run(
            [BIN / "python", "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT, check=True
        )
        stamp.touch()
    compile_translations()


def compile_translations() -> None:
    """Build the .mo files the app reads from the .po catalogs (git keeps only the .po)."""
    subprocess.run([BIN / "pybabel", "-q", "compile", "-d", "leadrouter/translations"], cwd=ROOT, check=True)


def wait_through_ctrl_c(process: subprocess.Popen) -> int:
    """Ctrl-C reaches the whole process group; wait while the helpline shuts its processes down.

    A SIGTERM sent to this launcher alone is passed on, so nothing is left running.
    """
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def with_command(argv: list[str]) -> list[str]:
    """The arguments with their command first: none, or options alone (`--port 5077`), mean `serve`."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        return ["serve", *argv]
    return argv


def main(argv: list[str]) -> int:
    argv = with_command(argv)
    command = argv[0]
    if command == "serve":
        ensure_environment("")
        flask = [BIN / "flask", "--app", "leadrouter", "embedded", *argv[1:]]
        return wait_through_ctrl_c(subprocess.Popen(flask, cwd=ROOT))
    if command == "test":
        ensure_environment("dev")
        return subprocess.call([BIN / "python", "-m", "pytest", *argv[1:]], cwd=ROOT)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
