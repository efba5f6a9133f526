"""Every chapter runs where the book's site machinery is absent, as in Colab or plain Jupyter.

Each notebooks/*.ipynb is executed with nbclient (``jupyter execute``) in a Python in which
myst_nb, myst_parser, jupyter_book and sphinx (with every ``sphinx*`` package) cannot be
imported. A ``sitecustomize`` module on PYTHONPATH swaps the import system's path finder for
one that does not see those packages, so ``import myst_nb`` fails exactly as it does where the
package is not installed (``ModuleNotFoundError``, and ``importlib.util.find_spec`` returns
None), in the executing process and in the kernel it starts. Two chapters run at a time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tasks  # noqa: E402

pytestmark = pytest.mark.slow

CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
HIDDEN = ("myst_nb", "myst_parser", "jupyter_book", "sphinx")
SITECUSTOMIZE = f'''\
"""Written by tests/test_runs_anywhere.py: hide the book's site packages from every import."""
import sys
from importlib.machinery import PathFinder

HIDDEN = {HIDDEN!r}


class SitePackagesHidden(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0].startswith(HIDDEN):
            return None  # as if no folder on sys.path held it
        return super().find_spec(name, path, target)


sys.meta_path[:] = [SitePackagesHidden if f is PathFinder else f for f in sys.meta_path]
'''
PROBE = """
import importlib.util, json
hidden = {}
for name in ("myst_nb", "myst_parser", "jupyter_book", "sphinx", "sphinx_book_theme"):
    try:
        __import__(name)
        hidden[name] = "imported"
    except ModuleNotFoundError as err:
        hidden[name] = err.msg if importlib.util.find_spec(name) is None else "find_spec found it"
import dp_helpers, nbclient, ipykernel
print(json.dumps(hidden))
"""


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """(folder, environment): a copy of the chapters (and the benchmark tables chapter 8 reads)
    and an environment in which the site packages cannot be imported."""
    home = tmp_path_factory.mktemp("bare")
    (home / "hide").mkdir()
    (home / "hide" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    shutil.copytree(ROOT / "notebooks", home / "notebooks", ignore=shutil.ignore_patterns("*.md"))
    shutil.copytree(ROOT / "benchmarks", home / "benchmarks", ignore=shutil.ignore_patterns("*.py", "output"))
    env = tasks.child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(home / "hide"), *filter(None, [env.get("PYTHONPATH")])])
    env["MPLBACKEND"] = "Agg"
    return home, env


def test_the_site_packages_are_hidden_but_the_rest_imports(bare):
    home, env = bare
    probe = subprocess.run([str(tasks.venv_exe("python")), "-c", PROBE], env=env, cwd=home,
                           capture_output=True, text=True)
    assert probe.returncode == 0, f"the probe failed:\n{probe.stderr[-3000:]}"
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert all(msg.startswith("No module named") for msg in found.values()), \
        f"a site package is still importable, or hidden unfaithfully: {found}"


def _execute(notebook: Path, env: dict[str, str]) -> tuple[str, float, subprocess.CompletedProcess]:
    start = time.monotonic()
    done = subprocess.run([str(tasks.venv_exe("jupyter")), "execute", "--kernel_name=python3",
                           "--timeout=600", notebook.name], cwd=notebook.parent, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return notebook.name, time.monotonic() - start, done


def _cell_error(stderr: str) -> str:
    """The failing cell and its error from ``jupyter execute``'s log, without colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", stderr)
    start = text.find("CellExecutionError:")
    return (text[start:] if start >= 0 else text).strip()[-2500:]


def test_every_chapter_runs_without_myst_nb_jupyter_book_or_sphinx(bare):
    home, env = bare
    assert CHAPTERS, "no notebooks/*.ipynb"
    notebooks = [home / "notebooks" / c.name for c in CHAPTERS]
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores: two kernels at a time
        results = list(pool.map(lambda nb: _execute(nb, env), notebooks))
    for name, seconds, _ in results:
        print(f"{name}: {seconds:.0f} s")
    failed = {name: _cell_error(done.stderr) for name, _, done in results if done.returncode}
    assert not failed, "chapters that fail without the site packages:\n" + "\n\n".join(
        f"--- {name} ---\n{err}" for name, err in failed.items())
