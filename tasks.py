#!/usr/bin/env python3
"""One entry point for building, testing and re-running the book.

    python3 tasks.py build          build the site into _build/html
    python3 tasks.py test [ARGS]    run pytest; ARGS go to pytest, e.g. -m "not slow"
    python3 tasks.py notebooks [NB] re-execute notebooks/*.ipynb (or NB) from their paired .md
    python3 tasks.py student        student edition in student/: no solutions, no outputs, no MyST
    python3 tasks.py wheels [...]   wheel folders for offline installs in dist/wheels/ (--help)
    python3 tasks.py pdf            the whole book as one PDF, dist/book.pdf (needs Chromium)
    python3 tasks.py bundle         dist/data-programming-offline.zip: site, PDF, student edition
    python3 tasks.py clean          remove _build, student/ and dist/

Every command except ``clean`` first makes sure ``.venv`` exists and holds
requirements.txt and this package (``pip install -e .``); ``student`` and ``wheels``
only when the Python running them lacks what they import. The install is skipped
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
STUDENT = ROOT / "student"
DIST = ROOT / "dist"
PDF = DIST / "book.pdf"
BUNDLE = DIST / "data-programming-offline.zip"
WINDOWS = os.name == "nt"
# The pinned requirements need Python >= 3.11 (NumPy, SciPy, pandas), and
# TensorFlow 2.21 publishes wheels up to Python 3.13. pyproject.toml's requires-python agrees.
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


# Debian packages the browser tests and the PDF need, with the commands each provides.
SYSTEM_PACKAGES = {"chromium": ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
                   "poppler-utils": ("pdftotext",)}


def ensure_system_packages(*packages: str, required: bool = False) -> None:
    """Install the Debian ``packages`` whose commands are all missing, with apt-get, when running as root
    (as CI does on a clean machine). Otherwise say what to install, and stop if ``required``; the tests
    that need a missing one skip, saying why."""
    def absent(names):
        return [p for p in names if not any(shutil.which(c) for c in SYSTEM_PACKAGES[p])]

    missing = absent(packages)
    if not missing:
        return
    apt = shutil.which("apt-get")
    if not (apt and hasattr(os, "geteuid") and os.geteuid() == 0):
        message = f"Not installed: {', '.join(missing)}. On Debian or Ubuntu: sudo apt-get install {' '.join(missing)}"
        if required:
            sys.exit(message)
        print(f"{message}\n(the tests that need it will be skipped)", flush=True)
        return
    print(f"Installing {' '.join(missing)} with apt-get ...", flush=True)
    for cmd in ([apt, "update", "-q"], [apt, "install", "-y", "-q", *missing]):
        done = subprocess.run(cmd, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    still = absent(missing)
    if still:  # else the tests that need them would skip, and a green run would hide it
        sys.exit(f"apt-get installed {' '.join(still)}, but none of {[SYSTEM_PACKAGES[p] for p in still]} is on PATH")


def book_command(builder: str = "html", *args: str) -> list[str]:
    """The Jupyter Book command line that builds the site (the browser test runs it too).

    ``-n -W --keep-going``: every broken reference is reported, and any warning fails the build.
    """
    return [str(venv_exe("jupyter-book")), "build", ".", "--all", "--builder", builder,
            "-n", "-W", "--keep-going", *args]


def build(args: list[str]) -> int:
    ensure_venv()
    code = run(*book_command("html", *args))
    if code == 0:
        print(f"\nThe book is at {BUILD / 'html' / 'index.html'}")
    return code


def test(args: list[str]) -> int:
    ensure_venv()
    ensure_system_packages("chromium", "poppler-utils")
    return run(venv_exe("python"), "-m", "pytest", *args)


def notebooks(args: list[str]) -> int:
    """Execute notebooks/*.ipynb in place (or only the ones named), first syncing each from its
    paired .md."""
    ensure_venv()
    named = [ROOT / a for a in args if a.endswith((".ipynb", ".md"))]
    extra = [a for a in args if not a.endswith((".ipynb", ".md"))]
    targets = sorted({p.with_suffix(".ipynb") for p in named}) or sorted(ROOT.glob("notebooks/*.ipynb"))
    for ipynb in targets:
        md = ipynb.with_suffix(".md")
        if md.exists():  # the .md is what authors edit; carry its cells over, keep outputs
            check(venv_exe("jupytext"), "--to", "ipynb", "--update", md.relative_to(ROOT))
        check(venv_exe("jupyter"), "nbconvert", "--to", "notebook", "--execute", "--inplace",
              "--ExecutePreprocessor.kernel_name=python3", "--ExecutePreprocessor.record_timing=False",
              ipynb.relative_to(ROOT), *extra)
        tidy_notebook(ipynb)
        if md.exists():  # Jupytext opens a pair only if the text file is not older than the .ipynb
            os.utime(md)
    return 0


def tidy_notebook(ipynb: Path) -> None:
    """Collapse in JupyterLab the code of cells the site shows only by their output (tag
    ``remove-input``: the ``dp.say`` prose). Execution timestamps are not recorded
    (``record_timing=False``); any left from an older run are dropped so re-runs diff cleanly."""
    import json

    notebook = json.loads(ipynb.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        metadata = cell.setdefault("metadata", {})
        metadata.pop("execution", None)
        if "remove-input" in metadata.get("tags", []):
            metadata.setdefault("jupyter", {})["source_hidden"] = True
    ipynb.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def in_venv(command: str, args: list[str], *modules: str) -> int | None:
    """Run ``tasks.py command args`` again in .venv's Python when this one cannot import ``modules``.

    Returns that run's exit code, or None when this Python has the modules (go on here).
    """
    import importlib.util

    if all(importlib.util.find_spec(name) for name in modules):
        return None
    ensure_venv()
    return run(venv_exe("python"), ROOT / "tasks.py", command, *args)


STUDENT_MODULES = ("nbformat", "nbconvert", "markdown_it", "mdit_py_plugins", "pybtex")


def student(args: list[str]) -> int:
    """Write the student edition into student/: every chapter without solutions, outputs or MyST
    markup, with the workshop scaffolds in student/scaffolds/."""
    code = in_venv("student", args, *STUDENT_MODULES)
    if code is not None:
        return code
    from booktools.student import make_student_edition

    for name, exercises, todos in make_student_edition(ROOT, STUDENT):
        scaffold = f", scaffold with {todos} cell{'s' * (todos > 1)} to write" if todos else ""
        print(f"{name}: {exercises} exercises kept{scaffold}")
    print(f"\nWritten to {STUDENT}")
    return 0


def wheels(args: list[str]) -> int:
    """Folders of wheels for installing without network: dist/wheels/<platform>-py<version>/.

    Each holds requirements.txt (requirements-participant.txt with its markers resolved for that
    platform), the wheels pip downloads for it (binary only) and the wheel of dp-helpers, so that
    ``pip install --no-index --find-links FOLDER -r FOLDER/requirements.txt dp-helpers`` works offline.
    """
    import argparse
    import itertools
    import re

    parser = argparse.ArgumentParser(prog="tasks.py wheels", description=wheels.__doc__.split("\n\n")[0])
    parser.add_argument("--platform", nargs="+", action="extend", default=[], metavar="TAG",
                        help="pip platform tags, e.g. manylinux2014_x86_64 win_amd64 macosx_11_0_arm64 "
                             "(default: this machine's)")
    parser.add_argument("--python-version", nargs="+", action="extend", default=[], metavar="X.Y",
                        help="Python versions, e.g. 3.11 3.12 (default: that of .venv)")
    parser.add_argument("--dest", type=Path, default=DIST / "wheels", help="default: dist/wheels")
    opts = parser.parse_args(args)
    low, high = PYTHONS
    for version in opts.python_version:
        if not re.fullmatch(r"3\.\d+", version) or not low <= tuple(map(int, version.split("."))) <= high:
            parser.error(f"--python-version {version!r}: expected one of 3.{low[1]} to 3.{high[1]}")
    code = in_venv("wheels", args, "packaging")
    if code is not None:
        return code
    import sysconfig

    from packaging.requirements import Requirement

    here = "%d.%d" % sys.version_info[:2]
    lines = (ROOT / "requirements-participant.txt").read_text(encoding="utf-8").splitlines()
    requirements = [Requirement(line.split(" #")[0]) for line in lines if line.strip() and not line.startswith("#")]
    own = opts.dest / ".dp-helpers"
    shutil.rmtree(own, ignore_errors=True)
    check(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", own, ROOT)
    for platform_tag, version in itertools.product(opts.platform or [None], opts.python_version or [here]):
        name = platform_tag or sysconfig.get_platform().replace("-", "_").replace(".", "_")
        folder = opts.dest / f"{name}-py{version}"
        folder.mkdir(parents=True, exist_ok=True)
        environment = {"python_version": version, "python_full_version": f"{version}.0"}
        if platform_tag:
            system = "linux" if "linux" in platform_tag else "darwin" if platform_tag.startswith("macosx") else "win32"
            machine = "AMD64" if platform_tag.endswith("amd64") else platform_tag.rsplit("_", 1)[-1]
            machine = "x86_64" if platform_tag.endswith("x86_64") else machine
            environment |= {"sys_platform": system, "platform_machine": machine, "os_name": "nt" if system == "win32" else "posix",
                            "platform_system": {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[system]}
        pinned = [str(r).split(";")[0] for r in requirements if r.marker is None or r.marker.evaluate(environment)]
        (folder / "requirements.txt").write_text("\n".join(pinned) + "\n", encoding="utf-8")
        target = (["--platform", platform_tag] if platform_tag else []) + (
            ["--python-version", version] if platform_tag or version != here else [])
        check(sys.executable, "-m", "pip", "download", "--only-binary=:all:", *target,
              "-r", folder / "requirements.txt", "--dest", folder)
        for wheel in own.glob("*.whl"):
            shutil.copy2(wheel, folder / wheel.name)
        print(f"{folder}: {len(list(folder.glob('*.whl')))} wheels")
    return 0


def single_page(singlehtml: Path) -> Path:
    """The whole book's page in a ``singlehtml`` build, copied to the build's root.

    Sphinx names the page after the root document (``book/intro.html``) but writes its links as
    if it sat at the root, next to ``_static/``; a copy there makes them resolve. The theme also
    loads ``searchindex.js``, which this builder does not write: an empty one stands in.
    """
    import re

    root = re.search(r"^root:\s*(\S+)", (ROOT / "_toc.yml").read_text(), re.MULTILINE)[1]
    page = singlehtml / Path(root).with_suffix(".html")
    book = singlehtml / "book.html"
    shutil.copyfile(page, book)
    index = singlehtml / "searchindex.js"
    if not index.exists():
        index.write_text("/* The single-page build has no search index. */\n")
    return book


def pdf(args: list[str]) -> int:
    """Build the book as one HTML page and print it to dist/book.pdf with headless Chromium.

    The printing runs in .venv's Python (``booktools.browser`` drives Chromium through Playwright).
    """
    ensure_venv()
    ensure_system_packages("chromium", required=True)
    code = run(*book_command("singlehtml", *args))
    if code:
        return code
    DIST.mkdir(exist_ok=True)
    code = run(venv_exe("python"), "-m", "booktools.browser", single_page(BUILD / "singlehtml"), PDF)
    if code:
        return code
    print(f"\nThe book is at {PDF} ({PDF.stat().st_size / 1e6:.1f} MB)")
    return 0


BUNDLE_README = """\
Data Programming, Hands-On: offline bundle
==========================================

site/      the book's web site. It needs no internet connection: MathJax, fonts and scripts
           are inside. Serve it locally, then open http://localhost:8000 in a browser:
               python3 -m http.server --directory site 8000
           (Opening site/index.html directly also works in most browsers, but some block
           the math fonts on file:// pages.)
student/   the chapters as notebooks, exercises without solutions and without outputs, with
           the book's helper package dp_helpers; see student/README.md.
book.pdf   the whole book as one PDF (if it was made with `python3 tasks.py pdf`).

Made by `python3 tasks.py bundle` from the book's repository.
"""


def bundle(args: list[str]) -> int:
    """Zip the built site, the student edition and (if made) the PDF into dist/."""
    import zipfile

    code = build(args)
    if code:
        return code
    student([])
    DIST.mkdir(exist_ok=True)
    parts = [(BUILD / "html", "site"), (STUDENT, "student")]
    with zipfile.ZipFile(BUNDLE, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", BUNDLE_README)
        for folder, name in parts:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.name not in {".buildinfo", ".student-edition"}:
                    zf.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
        if PDF.exists():
            zf.write(PDF, "book.pdf")
        else:
            print("No dist/book.pdf yet (python3 tasks.py pdf makes it); bundling without it.")
    print(f"\nThe bundle is at {BUNDLE} ({BUNDLE.stat().st_size / 1e6:.0f} MB)")
    return 0


def clean(args: list[str]) -> int:
    for path in (BUILD, STUDENT, DIST):
        if path.exists():
            shutil.rmtree(path)
            print(f"Removed {path}")
    return 0


COMMANDS = {"build": build, "test": test, "notebooks": notebooks, "student": student,
            "wheels": wheels, "pdf": pdf, "bundle": bundle, "clean": clean}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
