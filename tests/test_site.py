"""The built site, checked page by page in a real browser, offline, and the whole-book PDF.

The module builds the book exactly as ``python3 tasks.py build`` does (``-n -W --keep-going``:
any warning fails), but into a temporary folder, serves it on a loopback port and opens every
page in Debian's headless Chromium with host-name resolution switched off, as on a machine
without a network. Through Playwright (``booktools.browser``) it records every request and
console message, and then asks each page what it shows: images, math, links. The whole-book PDF
is checked in print layout: nothing wider than the text column, every chapter in it.

Chromium (and poppler-utils, for the PDF text) are Debian packages; when they are missing and
the tests run as root (as in CI), the fixtures install them with apt-get. Otherwise the tests
are skipped with the command to run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tasks  # noqa: E402  (the repository root is on sys.path only from here)
from booktools import browser  # noqa: E402

pytestmark = pytest.mark.slow

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
# Terms chapters are expected to link with {term}`...`.
GLOSSARY_TERMS = [
    "labeling function", "LF", "coverage", "overlap", "conflict", "abstain", "label model",
    "label matrix", "posterior", "soft label", "noise-aware loss", "majority vote",
    "signed accuracy", "log-odds weight", "class prior", "conditional independence",
    "end model", "discriminative model", "dev set", "weak supervision", "data programming",
]

# Runs in each page after it has loaded and MathJax has typeset it.
AUDIT_JS = r"""
(async () => {
  const images = [...document.images];
  for (const img of images) img.loading = "eager";
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  const text = (node) => {
    const clone = node.cloneNode(true);
    clone.querySelectorAll("pre, code, script, style, textarea, mjx-container").forEach(e => e.remove());
    return clone.textContent;
  };
  const main = document.querySelector("main") || document.body;
  const maths = [...document.querySelectorAll(".math")];
  return {
    title: document.title,
    images: images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth,
                                complete: img.complete, alt: img.getAttribute("alt")})),
    mathElements: maths.length,
    typeset: document.querySelectorAll("mjx-container").length,
    untypeset: maths.filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 80)),
    mathErrors: [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 80)),
    rawDelimiters: ["$$", "\\(", "\\)", "\\[", "\\]", "\\begin{"].filter(d => text(main).includes(d)),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    equationRefs: [...document.querySelectorAll('a[href*="#equation-"]:not(.headerlink)')].map(a => a.textContent.trim()),
    figureNumbers: [...document.querySelectorAll("figcaption .caption-number")].map(e => e.textContent.trim()),
  };
})()
"""


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_local_url(url: str) -> bool:
    """True for URLs that do not leave the machine: loopback http(s)/ws, data:, blob:, about:."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about", "chrome-error"}:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and (parts.hostname or "") in LOOPBACK_HOSTS


def _build(builder: str, out: Path) -> Path:
    """Build the book with ``builder`` into ``out`` as tasks.py would; fail on any warning."""
    cmd = tasks.book_command(builder, "--path-output", str(out))
    result = subprocess.run(cmd, cwd=ROOT, env=tasks.child_env(), capture_output=True, text=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    problems = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, (f"`{' '.join(cmd[1:])}` failed with {len(problems)} warnings/errors:\n"
                                    + "\n".join(problems[:40] or log.splitlines()[-40:]))
    return out / "_build" / builder


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return _build("html", tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def served(site: Path, chromium: str):
    """(base URL, browser) with the site served on loopback and an offline Chromium."""
    with browser.serve(site) as base, browser.launch(chromium) as chrome:
        yield base, chrome


REFRESH = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the build, relative to its root: not the theme's assets, not redirects."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith("_")
                  and not REFRESH.search(p.read_text(encoding="utf-8")[:500]))


def test_the_site_root_redirects_to_the_introduction(site):
    # A page that navigates away at once would race the checks below; its target is checked here.
    target = REFRESH.search((site / "index.html").read_text(encoding="utf-8"))
    assert target and (site / target[1]).is_file()


@pytest.fixture(scope="module")
def audits(site: Path, served) -> dict[str, dict]:
    """Open every page once; keep what was requested, logged and found on it."""
    base, chrome = served
    results = {}
    empty = {"images": [], "mathElements": 0, "typeset": 0, "untypeset": [], "mathErrors": [],
             "rawDelimiters": [], "links": [], "equationRefs": [], "figureNumbers": []}
    for path in site_pages(site):
        tab = browser.Tab(chrome)
        audit, problems = dict(empty), []
        try:
            tab.goto(base + path)
            audit.update(tab.page.evaluate(AUDIT_JS))  # awaits every image
        except browser.BrowserError as err:  # reported with the page's other console errors
            problems.append(f"the page did not finish loading: {err}")
        audit.update(requests=list(tab.requests), console=problems + tab.console, failed=list(tab.failed))
        tab.close()
        results[path] = audit
    return results


def _report(bad: dict[str, object]) -> str:
    return "\n".join(f"  {page}: {problem}" for page, problem in bad.items())


def test_site_has_the_expected_pages(site):
    pages = site_pages(site)
    assert "book/intro.html" in pages and "search.html" in pages and "genindex.html" in pages
    toc_files = {Path(f).with_suffix("").as_posix() for f in _toc_files()}
    missing = [f for f in toc_files if f"{f}.html" not in pages]
    assert not missing, f"pages in _toc.yml but not in the build: {missing}"


def test_pages_load_without_console_errors(audits):
    bad = {p: a["console"] for p, a in audits.items() if a["console"]}
    assert not bad, "console errors or uncaught exceptions:\n" + _report(bad)


def test_no_request_leaves_loopback(audits):
    bad = {p: sorted({u for u in a["requests"] if not is_local_url(u)}) for p, a in audits.items()}
    bad = {p: urls for p, urls in bad.items() if urls}
    assert not bad, "pages requested other hosts (the site must work offline):\n" + _report(bad)
    assert all(a["requests"] for a in audits.values())  # the recorder did see the page's own requests


def test_every_request_succeeds(audits):
    bad = {p: a["failed"] for p, a in audits.items() if a["failed"]}
    assert not bad, "failed requests:\n" + _report(bad)


def test_every_image_loads_and_has_alt_text(audits):
    broken = {p: [i["src"] for i in a["images"] if not (i["complete"] and i["width"] > 0)]
              for p, a in audits.items()}
    broken = {p: srcs for p, srcs in broken.items() if srcs}
    assert not broken, "images that did not load:\n" + _report(broken)
    # Sphinx falls back to the file name when a figure has no :alt:; that is no description.
    def described(alt):
        return bool(alt and alt.strip()) and not re.fullmatch(r"\S+\.(png|jpe?g|svg|gif|webp)|\S*/\S*", alt.strip())

    no_alt = {p: [i["src"].rsplit("/", 1)[-1] for i in a["images"] if not described(i["alt"])]
              for p, a in audits.items()}
    no_alt = {p: srcs for p, srcs in no_alt.items() if srcs}
    assert not no_alt, "images without alt text (add :alt: to the figure):\n" + _report(no_alt)
    assert sum(len(a["images"]) for a in audits.values()) > 0, "the book has no figures at all?"


def test_math_is_rendered_by_the_bundled_mathjax(audits):
    bad = {}
    for page, a in audits.items():
        problems = []
        if a["untypeset"]:
            problems.append(f"{len(a['untypeset'])} of {a['mathElements']} math elements not typeset, "
                            f"e.g. {a['untypeset'][0]!r}")
        if a["mathErrors"]:
            problems.append(f"MathJax errors: {a['mathErrors'][:3]}")
        if a["rawDelimiters"]:
            problems.append(f"raw TeX delimiters left in the text: {a['rawDelimiters']}")
        if problems:
            bad[page] = problems
    assert not bad, "math problems:\n" + _report(bad)
    assert audits["book/intro.html"]["typeset"] > 0, "the introduction has math, but nothing was typeset"
    mathjax = [u for a in audits.values() for u in a["requests"] if "/mathjax/" in u]
    assert mathjax and all(is_local_url(u) for u in mathjax)


def test_internal_links_resolve(site, audits, served):
    base, _ = served
    ids: dict[Path, set[str]] = {}
    bad: dict[str, list[str]] = {}
    for page, a in audits.items():
        for href in sorted(set(a["links"])):
            if not href.startswith(base):
                continue
            parts = urlsplit(href)
            target = site / unquote(parts.path).lstrip("/")
            if parts.path.endswith("/"):
                target = target / "index.html"
            if not target.is_file():
                bad.setdefault(page, []).append(f"{href} (no such file)")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                if target not in ids:
                    html = target.read_text(encoding="utf-8")
                    ids[target] = set(re.findall(r'\b(?:id|name)="([^"]+)"', html))
                if fragment not in ids[target]:
                    bad.setdefault(page, []).append(f"{href} (no #{fragment} there)")
    assert not bad, "broken internal links:\n" + _report(bad)


def test_equation_and_figure_references_are_numbered(audits):
    eq_refs = [r for a in audits.values() for r in a["equationRefs"]]
    assert all(re.fullmatch(r"Eq\. \d+(\.\d+)*", r) for r in eq_refs if r), \
        f"equation references not rendered as 'Eq. N.M': {[r for r in eq_refs if not r.startswith('Eq.')][:5]}"
    figures = [f for a in audits.values() for f in a["figureNumbers"]]
    assert all(re.fullmatch(r"Fig\. \d+(\.\d+)*", f) for f in figures), f"unnumbered figures: {figures[:5]}"


def test_search_finds_a_glossary_term(served):
    base, chrome = served
    tab = browser.Tab(chrome)
    try:
        tab.goto(base + "search.html?q=conditional+independence")
        results = "[...document.querySelectorAll('#search-results li a')].map(a => a.href)"
        try:
            tab.page.wait_for_function(f"{results}.length > 0", timeout=30_000)
        except browser.BrowserError:
            pass  # reported below as no hits
        hits = tab.page.evaluate(results)
    finally:
        tab.close()
    assert any("glossary" in h for h in hits), f"search found {hits}"


def test_chapter_pages_offer_downloads_launch_and_repository_buttons(site):
    chapters = [Path(f) for f in _toc_files() if f.endswith(".ipynb")]
    assert chapters
    for chapter in chapters:
        html = (site / chapter.with_suffix(".html")).read_text(encoding="utf-8")
        hrefs = set(re.findall(r'href="([^"]+)"', html))
        rel = f"../_sources/{chapter.as_posix()}"
        assert rel in hrefs, f"{chapter}: no .ipynb download"
        assert (site / "_sources" / chapter).is_file()
        md = chapter.with_suffix(".md")
        if (ROOT / md).exists():
            assert f"../_sources/{md.as_posix()}" in hrefs, f"{chapter}: no .md download"
            assert (site / "_sources" / md).read_text() == (ROOT / md).read_text()
        assert REPO_URL in hrefs, f"{chapter}: no repository button"
        owner_repo = urlsplit(REPO_URL).path.strip("/")
        assert f"https://colab.research.google.com/github/{owner_repo}/blob/{BRANCH}/{chapter.as_posix()}" in hrefs, \
            f"{chapter}: no Colab button"
        assert f"https://mybinder.org/v2/gh/{owner_repo}/{BRANCH}?urlpath=lab/tree/{chapter.as_posix()}" in hrefs, \
            f"{chapter}: no Binder button"


def test_glossary_defines_the_core_terms(site):
    html = (site / "book" / "glossary.html").read_text(encoding="utf-8")
    ids = {i.lower() for i in re.findall(r'id="(term-[^"]+)"', html)}
    missing = [t for t in GLOSSARY_TERMS if "term-" + re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-") not in ids]
    assert not missing, f"glossary lacks {missing}; it has {sorted(ids)}"


# --- The whole-book PDF ------------------------------------------------------------------

def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def _title(file: str) -> str:
    """The first level-1 heading of a toc entry, as plain text."""
    path = ROOT / file
    if not path.suffix:
        path = next(p for p in (path.with_suffix(".md"), path.with_suffix(".ipynb")) if p.exists())
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    heading = next(line[2:] for line in text.splitlines() if line.startswith("# "))
    return re.sub(r"[`*]", "", heading).strip()


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).replace("- ", "-").lower()


# Runs on the single-page book in print layout: every display equation, table and code block
# must fit the text column, since print cannot scroll (an overflowing box is cut at its edge).
FIT_JS = r"""
() => {
  const column = document.querySelector("article.bd-article") || document.querySelector("main");
  const col = column.getBoundingClientRect();
  const right = Math.min(col.right, document.documentElement.clientWidth) + 1;
  const checked = {math: 0, table: 0, code: 0}, tooWide = [];
  for (const [kind, selector] of [["math", "mjx-container[display]"], ["table", "table"], ["code", "pre"]]) {
    for (const el of document.querySelectorAll(selector)) {
      if (!el.getClientRects().length) continue;  // not printed
      checked[kind]++;
      const box = el.getBoundingClientRect();
      if (el.scrollWidth > el.clientWidth + 1 || box.left < col.left - 1 || box.right > right) {
        const where = el.closest("[id]");
        tooWide.push(`${kind} in #${where ? where.id : "?"}: ${Math.round(box.width)} px wide, content ` +
                     `${el.scrollWidth} px in ${el.clientWidth} px: ${el.textContent.trim().slice(0, 70)}`);
      }
    }
  }
  return {checked, tooWide, column: col.width};
}
"""


@pytest.fixture(scope="module")
def printed(tmp_path_factory, chromium) -> dict:
    """The whole-book PDF as ``python3 tasks.py pdf`` prints it: its text, and FIT_JS's report
    on the page laid out for print (print media, the width of the sheet's text column)."""
    pdftotext = shutil.which("pdftotext")
    if not pdftotext:
        pytest.skip("pdftotext is not installed (Debian: poppler-utils; `python3 tasks.py test` installs it as root)")
    out = tmp_path_factory.mktemp("pdf")
    single = _build("singlehtml", out)
    result = {}

    def check_print_layout(tab: browser.Tab) -> None:
        tab.page.emulate_media(media="print")
        result["fit"] = tab.page.evaluate(FIT_JS)

    pdf = browser.print_site_to_pdf(tasks.single_page(single), out / "book.pdf", check_print_layout)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    result["text"] = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True,
                                    check=True).stdout
    return result


def test_pdf_holds_every_chapter(printed):
    text = printed["text"]
    flat = _normalise(text)
    missing = [t for t in map(_title, _toc_files()) if _normalise(t) not in flat]
    assert not missing, f"chapters missing from the PDF: {missing}"
    pages = text.count("\f")
    assert pages >= 2 * len(_toc_files()), f"only {pages} pages for {len(_toc_files())} chapters"


def test_printed_equations_tables_and_code_fit_the_column(printed):
    fit = printed["fit"]
    assert fit["checked"]["math"] > 10 and fit["checked"]["table"] > 0 and fit["checked"]["code"] > 0, \
        f"found too little to check in the print layout: {fit['checked']}"
    assert fit["column"] <= browser.PRINT_WIDTH, f"the text column is {fit['column']} px, wider than the sheet"
    assert not fit["tooWide"], (f"{len(fit['tooWide'])} boxes are wider than the "
                                f"{fit['column']:.0f} px text column in print, so the PDF cuts them off:\n  "
                                + "\n  ".join(fit["tooWide"][:20]))


def test_pdf_prints_the_wide_equation_2_1_whole(printed):
    # Eq. 2.1 (eq-generative in chapter 2) is wider than the printed column; clipped, the PDF
    # kept only "if λj =" of each case. Its three cases must all be in the text.
    source = "".join(c.source for c in nbformat.read(ROOT / "notebooks/02_label_model.ipynb", 4).cells)
    equation = re.search(r"\$\$([^$]*)\$\$ \(eq-generative\)", source)
    assert equation, "chapter 2 has no display equation labelled eq-generative any more: update this test"
    cases = re.findall(r"\\text\{if \} \\lambda_j = (-?\w+)", equation[1])
    assert len(cases) == 3, f"eq-generative no longer has the three cases this test expects: {cases}"
    flat = re.sub(r"\s+", "", unicodedata.normalize("NFKC", printed["text"]))
    missing = [f"if λj = {c}" for c in cases if f"ifλj={c.replace('-', '−')}" not in flat]
    assert not missing, f"Eq. 2.1 is cut off in the PDF: its cases {missing} are not in the PDF's text"
