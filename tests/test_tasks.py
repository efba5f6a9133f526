"""``tasks.py``'s setup of the Debian packages the browser tests and the PDF need.

The install itself is faked (no apt-get runs here): what is checked is what gets installed when,
and what a user who is not root is told.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tasks  # noqa: E402


@pytest.fixture
def machine(monkeypatch):
    """A machine with the commands in ``machine.have``, apt-get, a user id and a recorded apt-get."""
    state = type("Machine", (), {"have": {"/usr/bin/apt-get"}, "uid": 0, "ran": [], "fail": False,
                                  "provides": {"/usr/bin/chromium", "/usr/bin/pdftotext"}})()

    def which(name):
        path = f"/usr/bin/{name}"
        return path if path in state.have else None

    def run(cmd, **kwargs):
        state.ran.append(cmd[1:])
        if cmd[1] == "install" and not state.fail:
            state.have |= state.provides
        return subprocess.CompletedProcess(cmd, 100 if state.fail else 0, "", "E: no such package")

    monkeypatch.setattr(tasks.shutil, "which", which)
    monkeypatch.setattr(tasks.subprocess, "run", run)
    monkeypatch.setattr(tasks.os, "geteuid", lambda: state.uid, raising=False)
    return state


def test_root_installs_only_the_missing_packages(machine):
    machine.have.add("/usr/bin/chromium")
    tasks.ensure_system_packages("chromium", "poppler-utils")
    assert machine.ran == [["update", "-q"], ["install", "-y", "-q", "poppler-utils"]]


def test_nothing_runs_when_every_package_has_a_command_on_path(machine):
    machine.have |= {"/usr/bin/google-chrome", "/usr/bin/pdftotext"}  # Chrome stands in for Chromium
    tasks.ensure_system_packages("chromium", "poppler-utils")
    assert machine.ran == []


def test_a_user_who_is_not_root_is_told_what_to_install(machine, capsys):
    machine.uid = 1000
    tasks.ensure_system_packages("chromium", "poppler-utils")
    out = capsys.readouterr().out
    assert machine.ran == [] and "sudo apt-get install chromium poppler-utils" in out and "skipped" in out
    with pytest.raises(SystemExit, match="sudo apt-get install chromium"):
        tasks.ensure_system_packages("chromium", required=True)  # `tasks.py pdf` cannot go on


def test_a_failed_install_stops_with_apt_gets_message(machine):
    machine.fail = True
    with pytest.raises(SystemExit, match="no such package"):
        tasks.ensure_system_packages("chromium")


def test_an_install_that_leaves_the_command_missing_stops_instead_of_skipping_tests(machine):
    machine.provides = {"/usr/bin/pdftotext"}  # e.g. a package of that name without the binary
    with pytest.raises(SystemExit, match=r"installed chromium, but none of .*'chromium'.* is on PATH"):
        tasks.ensure_system_packages("chromium", "poppler-utils")
