#!/usr/bin/env python3
"""One entry point for building, testing and re-running the book.

    python3 tasks.py build          build the site into _build/html
    python3 tasks.py test [ARGS]    run pytest; ARGS go to pytest, e.g. -m "not slow"
    python3 tasks.py notebooks      re-execute notebooks/*.ipynb from their paired .md
    python3 tasks.py clean          remove _build

Every command except ``clean`` first makes sure ``.venv`` exists and holds
requirements.txt and this package (``pip install -e .``). The install is skipped
while a stamp file for the current requirements.txt and pyproject.toml exists,
so only the first run (or a change to either file) pays for it.

Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BUILD = ROOT / "_build"
WINDOWS = os.name == "nt"
# The pinned requirements need Python >= 3.11 (NumPy, SciPy, pandas), and
# TensorFlow 2.21 publishes wheels up to Python 3.13.
PYTHONS = ((3, 11), (3, 13))

# Quiet TensorFlow start-up chatter and make its CPU numerics reproducible
# (oneDNN reorders floating-point sums); silence debugpy's frozen-modules warning
# that ipykernel prints on Python >= 3.11. The caller's own values win.
CHILD_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


def venv_exe(name: str) -> Path:
    """Path of an executable inside .venv (Scripts\\name.exe on Windows)."""
    if WINDOWS:
        return VENV / "Scripts" / f"{name}.exe"
    return VENV / "bin" / name


def child_env() -> dict[str, str]:
    env = {**CHILD_ENV, **os.environ}
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = os.pathsep.join([str(venv_exe("python").parent), env.get("PATH", "")])
    return env


def run(*cmd: str | Path) -> int:
    """Run a command from the repository root and return its exit code."""
    print("+", shlex.join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=child_env()).returncode


def check(*cmd: str | Path) -> None:
    """Run a command and stop with its exit code if it fails."""
    code = run(*cmd)
    if code:
        sys.exit(code)


def ensure_venv() -> None:
    """Create .venv and install the pinned dependencies unless already done."""
    python = venv_exe("python")
    if not python.exists():
        lo, hi = PYTHONS
        if not lo <= sys.version_info[:2] <= hi:
            sys.exit(f"The book needs Python {lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}, but "
                     f"{sys.executable} is {platform.python_version()}. Run this script with a "
                     f"supported interpreter instead, e.g. python{hi[0]}.{hi[1]} tasks.py build")
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        check(sys.executable, "-m", "venv", VENV)

    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{digest.hexdigest()}"
    if stamp.exists():
        return

    print("Installing the book's dependencies into .venv (the first time takes a few minutes) ...",
          flush=True)
    check(python, "-m", "pip", "install", "--disable-pip-version-check",
          "-r", "requirements.txt", "-e", ".")
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def build(args: list[str]) -> int:
    ensure_venv()
    code = run(venv_exe("jupyter-book"), "build", ".", "--builder", "html",
               "-n", "-W", "--keep-going", *args)
    if code == 0:
        print(f"\nThe book is at {BUILD / 'html' / 'index.html'}")
    return code


def test(args: list[str]) -> int:
    ensure_venv()
    return run(venv_exe("python"), "-m", "pytest", *args)


def notebooks(args: list[str]) -> int:
    """Execute every notebooks/*.ipynb in place, first syncing it from its paired .md."""
    ensure_venv()
    for ipynb in sorted(ROOT.glob("notebooks/*.ipynb")):
        md = ipynb.with_suffix(".md")
        if md.exists():  # the .md is what authors edit; carry its cells over, keep outputs
            check(venv_exe("jupytext"), "--to", "ipynb", "--update", md.relative_to(ROOT))
        check(venv_exe("jupyter"), "execute", "--inplace", "--kernel_name=python3",
              ipynb.relative_to(ROOT), *args)
    return 0


def clean(args: list[str]) -> int:
    if BUILD.exists():
        shutil.rmtree(BUILD)
        print(f"Removed {BUILD}")
    return 0


COMMANDS = {"build": build, "test": test, "notebooks": notebooks, "clean": clean}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
