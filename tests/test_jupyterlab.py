"""Every chapter as a reader sees it in JupyterLab with jupyterlab-myst, in headless Chromium.

The module starts JupyterLab from .venv on 127.0.0.1 (a free port, a token, no browser) over a
temporary copy of notebooks/, with its settings, workspaces and runtime files in that folder
too, and opens each chapter through Playwright (``booktools.browser``, as the site test does).
It checks that jupyterlab-myst renders every Markdown cell, leaving no MyST role or directive
as raw text; that every figure cell shows its image; and it runs chapter 1 from the page
(Run All) and checks that no cell fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tasks  # noqa: E402
from booktools import browser  # noqa: E402

pytestmark = pytest.mark.slow

CHAPTERS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
RUN_ALL_CHAPTER = "01_labeling_functions.ipynb"
# MyST that was not rendered: a role (`{term}` shows as "{term}labeling function") or a fence.
RAW_MYST = re.compile(r"\{(?:glue|term|eq|numref|cite|doc|ref)\b[^}\s]*\}|```\{|:::\{")
SETTINGS = {  # JupyterLab user settings: every cell in the DOM, no news pop-up (it would fetch)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}
# Close what is open (shutting its kernel down), then open one notebook.
OPEN_JS = """async (path) => {
  for (const w of [...jupyterapp.shell.widgets("main")]) {
    if (w.sessionContext) await w.sessionContext.shutdown();
    w.dispose();
  }
  jupyterapp.commands.execute("docmanager:open", {path});
}"""
# True once the notebook at `path` is loaded and jupyterlab-myst has rendered every Markdown
# cell (it renders asynchronously); a dialog's text if JupyterLab shows one (a load error).
OPENED_JS = """(path) => {
  const dialog = document.querySelector(".jp-Dialog");
  if (dialog) return {dialog: dialog.innerText};
  const w = jupyterapp.shell.currentWidget;
  if (!(w && w.context && w.context.path === path && w.context.isReady && w.content.widgets.length)) return false;
  return [...w.content.widgets].filter(c => c.model.type === "markdown")
    .every(c => c.node.querySelector(".jp-Cell-inputArea > .myst")?.textContent.trim()) && {ready: true};
}"""
# What the open notebook shows: per Markdown cell, whether jupyterlab-myst rendered it and its
# text; per figure cell (mystnb.figure metadata), its loaded images; the rendered Markdown outputs.
INSPECT_JS = """() => {
  const nb = jupyterapp.shell.currentWidget.content;
  const markdown = [], figures = [];
  nb.widgets.forEach((cell, i) => {
    const node = cell.node;
    if (cell.model.type === "markdown") {
      const myst = node.querySelector(".jp-Cell-inputArea > .myst");
      markdown.push({index: i, myst: !!myst, text: (myst || node).innerText,
                     fences: [...node.querySelectorAll("code[class*='language-{']")].map(c => c.className)});
    }
    const meta = cell.model.getMetadata("mystnb");
    if (meta && meta.figure) {
      const images = [...node.querySelectorAll(".jp-OutputArea-output img")];
      figures.push({index: i, name: meta.figure.name || "(unnamed)",
                    loaded: images.filter(img => img.complete && img.naturalWidth > 0).length});
    }
  });
  const outputs = [...nb.node.querySelectorAll(".jp-RenderedMySTMarkdown.jp-OutputArea-output")];
  return {markdown, figures, outputs: outputs.map(o => o.innerText),
          images: nb.node.querySelectorAll(".jp-OutputArea-output img").length};
}"""
# Clear the outputs, Run All, and report every error output (runAll resolves when all are done).
RUN_ALL_JS = """async (timeoutMs) => {
  const panel = jupyterapp.shell.currentWidget;
  await panel.sessionContext.ready;
  await jupyterapp.commands.execute("notebook:clear-all-cell-outputs");
  const ran = jupyterapp.commands.execute("notebook:run-all-cells");
  const late = new Promise((_, reject) => setTimeout(() => reject(new Error("Run All still running")), timeoutMs));
  await Promise.race([ran, late]);
  const cells = [...panel.content.model.cells];
  const code = cells.filter(c => c.type === "code");
  const errors = [];
  cells.forEach((c, i) => {
    if (c.type !== "code") return;
    for (const out of c.outputs.toJSON()) if (out.output_type === "error")
      errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
  });
  return {code: code.length, executed: code.filter(c => c.executionCount !== null).length, errors};
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium):
    """A browser tab with JupyterLab open, served on loopback over a copy of the chapters."""
    home = tmp_path_factory.mktemp("lab")
    # The chapters' .ipynb only: with its paired .md next to it, Jupytext refuses to open a
    # notebook that is newer than its .md and differs from it, and that is not this test's subject.
    (home / "root" / "notebooks").mkdir(parents=True)
    for chapter in CHAPTERS:
        shutil.copy2(ROOT / "notebooks" / chapter, home / "root" / "notebooks" / chapter)
    for name, values in SETTINGS.items():
        (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "settings" / name).write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**tasks.child_env(), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython")}
    cmd = [str(tasks.venv_exe("jupyter")), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={home / 'root'}", f"--LabApp.user_settings_dir={home / 'settings'}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if os.name == "posix" and os.geteuid() == 0:
        cmd.append("--allow-root")
    base = f"http://127.0.0.1:{port}/"
    with open(home / "server.log", "wb") as log:
        server = subprocess.Popen(cmd, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}api/status?token={token}", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log_tail = (home / "server.log").read_text(errors="replace")[-3000:]
                    pytest.fail(f"JupyterLab did not start on {base} (exit code {server.poll()}):\n{log_tail}")
                time.sleep(0.5)
        with browser.launch(chromium) as chrome:
            tab = browser.Tab(chrome, height=1000)
            tab.goto(f"{base}lab?reset&token={token}", timeout=120)
            tab.page.wait_for_function("window.jupyterapp && jupyterapp.started", timeout=120_000)
            yield tab
    finally:
        server.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the process group this fixture started
            server.wait()


def _open(tab: browser.Tab, chapter: str) -> None:
    """Open notebooks/``chapter`` in JupyterLab and wait until it is rendered."""
    path = f"notebooks/{chapter}"
    tab.page.evaluate(OPEN_JS, path)
    opened = tab.page.wait_for_function(OPENED_JS, arg=path, timeout=120_000).json_value()
    if "dialog" in opened:
        raise AssertionError(f"JupyterLab showed a dialog opening {path}: {opened['dialog'][:500]}")
    tab.page.wait_for_timeout(500)  # images decode, MathJax in outputs settles


@pytest.fixture(scope="module")
def shown(lab) -> dict[str, dict]:
    """What each chapter shows when opened, as INSPECT_JS reports it."""
    results = {}
    for chapter in CHAPTERS:
        try:
            _open(lab, chapter)
            results[chapter] = lab.page.evaluate(INSPECT_JS)
        except (browser.BrowserError, AssertionError) as err:
            results[chapter] = {"error": f"did not open: {str(err).splitlines()[0]}"}
    return results


def _report(bad: dict) -> str:
    return "\n".join(f"  {chapter}: {problem}" for chapter, problem in bad.items())


def test_every_chapter_opens(shown):
    bad = {c: r["error"] for c, r in shown.items() if "error" in r}
    assert not bad, "chapters that did not open in JupyterLab:\n" + _report(bad)


def test_jupyterlab_myst_renders_every_markdown_cell(shown):
    bad = {c: [m["index"] for m in r["markdown"] if not m["myst"]] for c, r in shown.items() if "markdown" in r}
    bad = {c: f"Markdown cells {cells} not rendered by jupyterlab-myst" for c, cells in bad.items() if cells}
    assert not bad, "\n" + _report(bad)
    assert all(r["markdown"] for r in shown.values() if "markdown" in r)


def test_no_myst_role_or_directive_is_left_raw(shown):
    bad = {}
    for chapter, r in shown.items():
        found = [f"cell {m['index']}: {hit!r}" for m in r.get("markdown", []) for hit in RAW_MYST.findall(m["text"])]
        found += [f"cell {m['index']}: fence {cls}" for m in r.get("markdown", []) for cls in m["fences"]]
        found += [f"Markdown output: {hit!r}" for text in r.get("outputs", []) for hit in RAW_MYST.findall(text)]
        if found:
            bad[chapter] = f"{len(found)} raw: " + ", ".join(found[:8])
    assert not bad, "MyST shown as raw text in JupyterLab (Colab would show it too):\n" + _report(bad)


def test_every_figure_shows_as_an_image(shown):
    bad = {}
    for chapter in CHAPTERS:
        figures = [c for c in nbformat.read(ROOT / "notebooks" / chapter, as_version=4).cells
                   if c.get("metadata", {}).get("mystnb", {}).get("figure")]
        r = shown[chapter]
        if "figures" not in r:
            continue  # reported by test_every_chapter_opens
        missing = [f"{f['name']} (cell {f['index']})" for f in r["figures"] if not f["loaded"]]
        if len(r["figures"]) != len(figures) or missing or r["images"] < len(figures):
            bad[chapter] = (f"{len(figures)} figure cells, {r['images']} images shown; "
                            f"figures without a loaded image: {missing}")
    assert not bad, "figures not shown as image outputs:\n" + _report(bad)


def test_chapter_1_runs_all_cells_in_jupyterlab_without_errors(lab):
    _open(lab, RUN_ALL_CHAPTER)
    ran = lab.page.evaluate(RUN_ALL_JS, 300_000)
    assert not ran["errors"], f"Run All of {RUN_ALL_CHAPTER} raised:\n  " + "\n  ".join(ran["errors"])
    assert ran["executed"] == ran["code"] > 0, f"only {ran['executed']} of {ran['code']} code cells ran"
