"""Packaging: pyproject's metadata agrees with the rest, and a participant can install offline.

The fast tests compare files. The slow one does what a teacher does before a workshop: it makes the
wheel folder for this machine (``tasks.py wheels``), installs from it into a fresh virtual
environment with no index, and runs chapter 1 there; then it checks that ``dp-helpers[notebooks]``
resolves from the package registry.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tasks  # noqa: E402

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Whatever a participant needs must not drag in the book's build, test or browser tooling.
BOOK_ONLY = {"jupyter-book", "sphinx-exercise", "sphinx-mathjax-offline", "pytest", "hypothesis", "nbval",
             "playwright", "jupytext"}


def _requirements(path: Path) -> list[Requirement]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Requirement(line.split(" #")[0]) for line in lines if line.strip() and not line.startswith(("#", "-"))]


def _extra(name: str) -> list[Requirement]:
    """The requirements of extra ``name``, with self-references (dp-helpers[tf,...]) expanded."""
    found = []
    for req in map(Requirement, PROJECT["optional-dependencies"][name]):
        found += [r for extra in sorted(req.extras) for r in _extra(extra)] if req.name == PROJECT["name"] else [req]
    return found


def test_supported_pythons_agree_in_pyproject_tasks_and_readme():
    low, high = tasks.PYTHONS
    supported = SpecifierSet(PROJECT["requires-python"])
    versions = [f"3.{minor}" for minor in range(8, 20)]
    assert [v for v in versions if v in supported] == [f"3.{m}" for m in range(low[1], high[1] + 1)]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python 3.{low[1]}, 3.{low[1] + 1} or 3.{high[1]}" in readme


def test_participant_requirements_are_the_book_pins_without_the_book_tooling():
    book = {r.name: r for r in _requirements(ROOT / "requirements.txt")}
    participant = _requirements(ROOT / "requirements-participant.txt")
    assert not BOOK_ONLY & {r.name for r in participant}
    for req in participant:
        assert req.name in book and str(req.specifier) == str(book[req.name].specifier), f"{req} differs from requirements.txt"


def test_the_notebooks_extra_is_what_participants_get_pinned():
    pinned = {r.name for r in _requirements(ROOT / "requirements-participant.txt")}
    needed = _extra("notebooks") + [Requirement(r) for r in PROJECT["dependencies"]]
    for req in needed:
        # ipykernel brings IPython; on Linux x86-64 the pins use the CPU-only build of TensorFlow.
        stands_in = {"ipython": "ipykernel", "tensorflow": "tensorflow-cpu"}.get(req.name)
        assert req.name in pinned or stands_in in pinned, f"[notebooks] needs {req.name}; requirements-participant.txt lacks it"
    assert {r.name for r in needed} >= {"tensorflow", "dask", "distributed", "pyarrow", "matplotlib",
                                                     "textblob", "scikit-learn"}


def test_core_dependencies_cover_what_importing_the_package_imports():
    modules = {"scikit-learn": "sklearn"}  # distribution name -> module name, where they differ
    core = [modules.get(Requirement(r).name, Requirement(r).name) for r in PROJECT["dependencies"]]
    # What the core dependencies load themselves (pandas loads pyarrow when it is there) is theirs.
    code = (f"import sys, {', '.join(core)}; before = set(sys.modules); import dp_helpers, dp_helpers.scale; "
            "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))")
    loaded = set(eval(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                     check=True).stdout))
    third_party = {"sklearn", "tensorflow", "keras", "dask", "distributed", "pyarrow", "matplotlib", "textblob", "IPython"}
    assert not loaded & third_party, f"import dp_helpers loads {sorted(loaded & third_party)}: declare them as core"


def _clean_pip_env(**extra: str) -> dict[str, str]:
    """This machine's pip finds wheels through config files and PIP_* variables: none of those."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **tasks.CHILD_ENV, **extra}


@pytest.mark.slow
def test_offline_wheel_folder_installs_and_runs_chapter_one(tmp_path):
    started = time.monotonic()
    dest = tmp_path / "wheels"
    subprocess.run([sys.executable, str(ROOT / "tasks.py"), "wheels", "--dest", str(dest)], cwd=ROOT, check=True)
    made = time.monotonic()
    (folder,) = [p for p in dest.iterdir() if not p.name.startswith(".")]
    assert re.fullmatch(r".+-py3\.\d+", folder.name)

    # The package's wheel carries every file of dp_helpers, its style and data sets included.
    (wheel,) = folder.glob("dp_helpers-*.whl")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "dp_helpers").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert "dp_helpers/book.mplstyle" in on_disk and not on_disk - in_wheel, sorted(on_disk - in_wheel)

    venv = tmp_path / "participant"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(folder),
                    "-r", str(folder / "requirements.txt"), "dp-helpers"], env=_clean_pip_env(), check=True)
    installed = time.monotonic()

    # Chapter 1 runs in the participant's Python, away from the repository (dp_helpers from the wheel).
    work = tmp_path / "work"
    work.mkdir()
    run_chapter = ("import nbformat, nbclient, sys; nb = nbformat.read(sys.argv[1], as_version=4); "
                   "nbclient.NotebookClient(nb, timeout=900, kernel_name='python3').execute(); "
                   "import dp_helpers; print(dp_helpers.__file__)")
    result = subprocess.run([str(python), "-c", run_chapter, str(ROOT / "notebooks" / "01_labeling_functions.ipynb")],
                            cwd=work, env=_clean_pip_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert str(venv) in result.stdout, f"dp_helpers came from {result.stdout.strip()}, not the installed wheel"
    ran = time.monotonic()

    # The [notebooks] extra resolves from the registry (Colab's install cell asks for it).
    dry_run = subprocess.run([str(python), "-m", "pip", "install", "--dry-run", "--quiet", f"{wheel}[notebooks]"],
                             env={**os.environ, **tasks.CHILD_ENV}, capture_output=True, text=True)
    assert dry_run.returncode == 0, dry_run.stderr[-3000:]
    print(f"\nwheel folder {made - started:.0f} s, offline install {installed - made:.0f} s, "
          f"chapter 1 {ran - installed:.0f} s, [notebooks] dry run {time.monotonic() - ran:.0f} s")
