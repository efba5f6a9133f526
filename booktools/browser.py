"""Serve a built site on loopback and open it in Debian's headless Chromium through Playwright.

    with serve(Path("_build/html")) as base, launch() as browser:
        tab = Tab(browser)
        tab.goto(base + "book/intro.html")  # load event, MathJax typeset, network quiet
        assert not tab.console and not tab.failed
        tab.page.screenshot(path="intro.png", full_page=True)  # tab.page: a Playwright Page

Playwright runs the ``chromium`` on PATH (Debian's, which ``tasks.py`` installs as root),
never a browser of its own: nothing is downloaded. Offline by default: no host name but loopback
resolves. ``python -m booktools.browser PAGE.html OUT.pdf`` prints a page (``tasks.py pdf``).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as BrowserError  # failed navigation, timeout, JS error

OFFLINE_FLAG = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
# The PDF's sheet: A4 with these margins; PRINT_WIDTH is its text column in CSS pixels.
PAPER = {"format": "A4", "margin": {"top": "0.6in", "bottom": "0.7in", "left": "0.6in", "right": "0.6in"}}
PRINT_WIDTH = round((8.27 - 1.2) * 96)
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
MATHJAX_READY = "async () => { await window.MathJax?.startup?.promise; await document.fonts.ready; }"


class ChromiumUnavailable(RuntimeError):
    """No Chromium (or Chrome) on PATH. ``python3 tasks.py test`` and ``pdf`` install Debian's as root."""


def find_chromium() -> str:
    """Path of Chromium (or Chrome) on PATH; else :class:`ChromiumUnavailable`, saying how to install it."""
    found = [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")]
    if not any(found):
        raise ChromiumUnavailable("Chromium is not installed. On Debian or Ubuntu: `sudo apt-get install chromium`.")
    return next(filter(None, found))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yield the base URL, ending in '/'."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@functools.cache
def _playwright():  # one per process: sync Playwright cannot nest, while browsers can
    playwright = sync_playwright().start()
    atexit.register(playwright.stop)
    return playwright


@contextlib.contextmanager
def launch(executable: str | None = None, *, offline: bool = True) -> Iterator[Browser]:
    """Start headless Chromium (``executable``, else :func:`find_chromium`'s) under Playwright.

    With ``offline``, every host name but loopback fails to resolve, as without a network.
    """
    browser = _playwright().chromium.launch(executable_path=executable or find_chromium(),
                                            args=[OFFLINE_FLAG] if offline else [])
    try:
        yield browser
    finally:
        browser.close()


class Tab:
    """A new page in ``browser`` that records, from each :meth:`goto` on, what happened on it.

    Attributes
    ----------
    page : playwright.sync_api.Page
        The page itself, for anything else (``evaluate``, ``screenshot``, ``emulate_media``, ...).
    requests : list of str
        Every URL requested.
    failed : list of str
        Requests that failed (other than aborted) or got an HTTP status >= 400, with the reason.
    console : list of str
        Console errors and assertions (failed resource loads among them) and uncaught exceptions.
    """

    def __init__(self, browser: Browser, width: int = 1280, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.requests, self.failed, self.console = [], [], []
        on = self.page.on
        on("request", lambda r: self.requests.append(r.url))
        on("requestfailed", lambda r: r.failure == "net::ERR_ABORTED" or self.failed.append(f"{r.url}: {r.failure}"))
        on("response", lambda r: r.status < 400 or self.failed.append(f"{r.url}: HTTP {r.status}"))
        on("console", lambda m: m.type not in {"error", "assert"} or self.console.append(
            f"console.{m.type}: {m.text} {m.location.get('url', '')}".rstrip()))
        on("pageerror", lambda e: self.console.append(f"uncaught: {e}"))

    def goto(self, url: str, timeout: float = 60) -> None:
        """Open ``url`` and wait for its load event, MathJax's typesetting and a quiet network."""
        for record in (self.requests, self.failed, self.console):
            record.clear()
        self.page.goto(url, wait_until="load", timeout=timeout * 1000)
        self.page.evaluate(MATHJAX_READY)
        self.page.wait_for_load_state("networkidle", timeout=timeout * 1000)

    def close(self) -> None:
        self.page.context.close()


def print_site_to_pdf(page_file: Path, pdf: Path, before_print: Callable[[Tab], None] | None = None) -> Path:
    """Serve ``page_file``'s folder on loopback, open the page offline and print it to ``pdf``
    (on :data:`PAPER`, page numbers in the footer).

    ``before_print(tab)``, if given, runs on the loaded page, laid out :data:`PRINT_WIDTH` wide.

    Raises
    ------
    BrowserError
        If the page logged a console error, or a request failed, while it loaded.
    """
    with serve(page_file.parent) as base, launch() as browser:
        tab = Tab(browser, width=PRINT_WIDTH)
        tab.goto(base + page_file.name, timeout=180)
        if tab.console or tab.failed:
            raise BrowserError(f"{page_file} did not load cleanly: {(tab.console + tab.failed)[:5]}")
        if before_print:
            before_print(tab)
        tab.page.pdf(path=str(pdf), print_background=True, display_header_footer=True,
                     header_template="<span></span>", footer_template=FOOTER, **PAPER)
        return pdf


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m booktools.browser PAGE.html OUT.pdf")
    try:
        print_site_to_pdf(Path(sys.argv[1]), Path(sys.argv[2]))
    except (ChromiumUnavailable, BrowserError) as err:
        sys.exit(f"Printing the PDF failed: {err}")
