"""Serve a built site on loopback and drive headless Chromium over the DevTools protocol.

Standard library only. Chromium is started with ``--remote-debugging-pipe``: it reads
DevTools commands from file descriptor 3 and writes replies and events to descriptor 4, one
JSON message per NUL-terminated chunk. That needs neither a WebSocket client nor a TCP port.

    with serve(Path("_build/html")) as base, Chromium() as browser:
        page = browser.new_page()
        page.goto(base + "book/intro.html")
        page.screenshot(Path("intro.png"))

By default the browser is *offline*: every host name resolves to nothing, so only loopback
addresses (the built-in server) can be reached, exactly as on a machine without a network.
Chromium is Debian's package; :func:`ensure_chromium` installs it with apt when it is missing
and we are root.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

# Flags that keep Chromium from talking to Google's hosts, plus headless basics.
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
)
# Every host name except loopback fails to resolve, as on a machine without a network.
OFFLINE_FLAG = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}


class ChromiumUnavailable(RuntimeError):
    """Chromium is not installed and cannot be installed here."""


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_debian_package(command: str, package: str) -> str:
    """Path of ``command``; if missing and we are root on Debian/Ubuntu, apt-get install ``package``.

    Raises
    ------
    ChromiumUnavailable
        If the command is missing and cannot be installed here (not root, or no apt-get).
    RuntimeError
        If apt-get was there to use, but failed.
    """
    found = shutil.which(command)
    if found:
        return found
    apt = shutil.which("apt-get")
    if os.name != "posix" or os.geteuid() != 0 or not apt:
        raise ChromiumUnavailable(
            f"`{command}` is not installed. On Debian or Ubuntu install it with "
            f"`sudo apt-get install {package}`.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"Installing {package} with apt-get ...", flush=True)
    for cmd in ([apt, "update", "-q"], [apt, "install", "-y", "-q", package]):
        result = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if result.returncode:  # we should have been able to install it: an error, not a skip
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    found = shutil.which(command)
    if not found:
        raise RuntimeError(f"apt-get installed {package}, but `{command}` is still not on PATH")
    return found


def ensure_chromium() -> str:
    """Path of Chromium, installing Debian's ``chromium`` package first if needed (as root)."""
    return find_chromium() or ensure_debian_package("chromium", "chromium")


# --- A static file server on loopback ----------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yield the base URL with a '/'."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def is_local_url(url: str) -> bool:
    """True for URLs that do not leave the machine: loopback http(s), data:, blob:, about:."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and (parts.hostname or "") in LOOPBACK_HOSTS


# --- The DevTools protocol over a pipe ---------------------------------------------------

class CDPError(RuntimeError):
    """A DevTools command failed or timed out."""


class Chromium:
    """A headless Chromium process, controlled over ``--remote-debugging-pipe``.

    Parameters
    ----------
    executable
        Chromium to run; by default :func:`ensure_chromium` finds or installs it.
    offline
        Make every host name unresolvable, so only loopback can be reached.
    window
        Viewport size in CSS pixels, (width, height).
    """

    def __init__(self, executable: str | None = None, *, offline: bool = True,
                 window: tuple[int, int] = (1280, 900)) -> None:
        self.executable = executable or ensure_chromium()
        self.offline = offline
        self.window = window
        self._next_id = 0
        self._lock = threading.Condition()
        self._replies: dict[int, dict] = {}
        self._events: list[dict] = []
        self._closed = False

    # process management
    def __enter__(self) -> Chromium:
        import fcntl  # POSIX only; imported here so that the module itself imports anywhere

        self._profile = tempfile.TemporaryDirectory(prefix="dp-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._reply_r, reply_w = os.pipe()
        # Move the child's ends above 2..4 so the dup2 calls below cannot clobber them.
        hi_cmd_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_reply_w = fcntl.fcntl(reply_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(reply_w)

        def wire_pipes() -> None:  # runs in the child between fork and exec
            os.dup2(hi_cmd_r, 3)  # dup2 makes 3 and 4 inheritable; every other fd is not
            os.dup2(hi_reply_w, 4)

        width, height = self.window
        args = [self.executable, *QUIET_FLAGS, f"--user-data-dir={self._profile.name}",
                f"--window-size={width},{height}", "--remote-debugging-pipe"]
        if self.offline:
            args.append(OFFLINE_FLAG)
        self._log = tempfile.TemporaryFile()
        try:
            # close_fds=False: only descriptors 3 and 4 are inheritable (PEP 446), so nothing
            # else leaks; with close_fds=True, subprocess would close them after wire_pipes.
            # Its own process group, so that close() can end its helper processes too.
            self.process = subprocess.Popen(args + ["about:blank"], stdin=subprocess.DEVNULL,
                                            stdout=self._log, stderr=self._log,
                                            preexec_fn=wire_pipes, close_fds=False,
                                            start_new_session=True)
        finally:
            os.close(hi_cmd_r)
            os.close(hi_reply_w)
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()
        self.send("Target.setDiscoverTargets", {"discover": False}, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "process", None) is None or self._closed:
            return
        self._closed = True
        with contextlib.suppress(CDPError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this object started
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._cmd_w)
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self._reply_r)
        self._log.close()
        self._profile.cleanup()

    def stderr_tail(self, chars: int = 3000) -> str:
        """The end of Chromium's own log, for error messages."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-chars:]

    # messaging
    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._reply_r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._lock:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self._events.append(message)
                self._lock.notify_all()
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def send(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float = 60) -> dict:
        """Send one DevTools command and return its result."""
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        except OSError as err:
            raise CDPError(f"{method}: Chromium is gone ({err}).\n{self.stderr_tail()}") from err
        deadline = time.monotonic() + timeout
        with self._lock:
            while message_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"{method}: no reply within {timeout:.0f} s")
                if self._closed and method != "Browser.close":
                    raise CDPError(f"{method}: Chromium exited.\n{self.stderr_tail()}")
                self._lock.wait(min(left, 1.0))
            reply = self._replies.pop(message_id)
        if "error" in reply:
            raise CDPError(f"{method}{json.dumps(params or {})[:200]} failed: {reply['error']}")
        return reply.get("result", {})

    def events(self, session: str | None = None, method: str | None = None, start: int = 0) -> list[dict]:
        """Events received so far (from index ``start``), optionally of one session and method."""
        with self._lock:
            found = self._events[start:]
        return [e for e in found
                if (session is None or e.get("sessionId") == session)
                and (method is None or e.get("method") == method)]

    def event_count(self) -> int:
        with self._lock:
            return len(self._events)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``condition()`` holds, re-checking whenever a message arrives."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                self._lock.release()
                try:
                    if condition():
                        return
                finally:
                    self._lock.acquire()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"timed out after {timeout:.0f} s waiting for {what}")
                if self._closed:
                    raise CDPError(f"Chromium exited while waiting for {what}.\n{self.stderr_tail()}")
                self._lock.wait(min(left, 0.25))

    def new_page(self) -> Page:
        """Open a new tab, attach to it and enable the Page, Network, Runtime and Log domains."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        width, height = self.window
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page


class Page:
    """One tab. Records every network request and console error since the last :meth:`goto`."""

    def __init__(self, browser: Chromium, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session
        self._mark = browser.event_count()

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def events(self, method: str | None = None) -> list[dict]:
        """This tab's events since the last navigation started."""
        return [e["params"] for e in self.browser.events(self.session, method, self._mark)]

    def close(self) -> None:
        with contextlib.suppress(CDPError):
            self.browser.send("Target.closeTarget", {"targetId": self.target}, timeout=10)

    def goto(self, url: str, timeout: float = 60) -> None:
        """Navigate and wait for the load event, MathJax's typesetting and a quiet network."""
        self._mark = self.browser.event_count()
        reply = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if reply.get("errorText"):
            raise CDPError(f"navigating to {url} failed: {reply['errorText']}")
        self.browser.wait_for(lambda: bool(self.events("Page.loadEventFired")), timeout, f"{url} to load")
        self.evaluate(
            "(async () => {"
            "  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {"
            "    await MathJax.startup.promise; }"
            "  await document.fonts.ready; return true; })()", timeout=timeout)
        self.wait_network_idle(timeout=timeout)

    def wait_network_idle(self, quiet: float = 0.5, timeout: float = 30) -> None:
        """Wait until no request has been in flight for ``quiet`` seconds."""
        state = {"since": time.monotonic(), "busy": frozenset(), "urls": {}}

        def idle() -> bool:
            urls = {e["requestId"]: e["request"]["url"] for e in self.events("Network.requestWillBeSent")}
            done = {e["requestId"] for e in self.events("Network.loadingFinished")}
            done |= {e["requestId"] for e in self.events("Network.loadingFailed")}
            # The browser's own favicon fetch may never report its end when the page navigates
            # on (the redirecting index.html does); it is still recorded and checked.
            busy = frozenset(r for r, url in urls.items() if r not in done
                             and not url.startswith("data:") and not url.endswith("/favicon.ico"))
            if busy != state["busy"]:
                state["busy"], state["since"] = busy, time.monotonic()
            state["urls"] = urls
            return not busy and time.monotonic() - state["since"] >= quiet

        try:
            self.browser.wait_for(idle, timeout, "the network to go quiet")
        except CDPError as err:
            pending = sorted(state["urls"].get(r, r) for r in state["busy"])
            raise CDPError(f"{err}; still loading: {pending[:10]}") from None

    def evaluate(self, expression: str, timeout: float = 60):
        """Evaluate JavaScript in the page (awaiting a promise) and return its JSON value."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                               "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"JavaScript failed: {text}")
        return reply["result"].get("value")

    # what happened while loading
    def requested_urls(self) -> list[str]:
        return [e["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def failed_requests(self) -> list[str]:
        """Requests that failed (not merely cancelled) or got an HTTP error status."""
        urls = {e["requestId"]: e["request"]["url"] for e in self.events("Network.requestWillBeSent")}
        failed = [f"{urls.get(e['requestId'], '?')}: {e.get('errorText')}"
                  for e in self.events("Network.loadingFailed") if not e.get("canceled")]
        failed += [f"{e['response']['url']}: HTTP {e['response']['status']}"
                   for e in self.events("Network.responseReceived") if e["response"]["status"] >= 400]
        return failed

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (e.g. failed loads)."""
        errors = []
        for e in self.events("Runtime.consoleAPICalled"):
            if e["type"] in {"error", "assert"}:
                errors.append("console." + e["type"] + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in e.get("args", [])))
        for e in self.events("Runtime.exceptionThrown"):
            details = e["exceptionDetails"]
            errors.append("uncaught: " + (details.get("exception", {}).get("description") or details.get("text", "")))
        for e in self.events("Log.entryAdded"):
            if e["entry"]["level"] == "error":
                errors.append(f"log: {e['entry'].get('text')} {e['entry'].get('url', '')}".strip())
        return errors

    # output
    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """Save a PNG screenshot (the whole page by default)."""
        params: dict = {"format": "png"}
        if full_page:
            width, height = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": width, "height": min(height, 16000), "scale": 1})
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def print_pdf(self, path: Path, timeout: float = 300) -> Path:
        """Print the page to a PDF (A4, page numbers in the footer), streamed to ``path``."""
        reply = self.send("Page.printToPDF", {
            "printBackground": True,
            "paperWidth": 8.27, "paperHeight": 11.69,  # A4, in inches
            "marginTop": 0.6, "marginBottom": 0.7, "marginLeft": 0.6, "marginRight": 0.6,
            "displayHeaderFooter": True,
            "headerTemplate": "<span></span>",
            "footerTemplate": ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
                               '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'),
            "transferMode": "ReturnAsStream",
        }, timeout=timeout)
        stream = reply["stream"]
        with path.open("wb") as out:
            while True:
                chunk = self.send("IO.read", {"handle": stream, "size": 1 << 20})
                data = chunk.get("data", "")
                out.write(base64.b64decode(data) if chunk.get("base64Encoded") else data.encode())
                if chunk.get("eof"):
                    break
        self.send("IO.close", {"handle": stream})
        return path


def print_site_to_pdf(page_file: Path, pdf: Path) -> Path:
    """Serve ``page_file``'s folder on loopback, open it offline and print it to ``pdf``."""
    with serve(page_file.parent) as base, Chromium() as browser:
        page = browser.new_page()
        page.goto(base + page_file.name, timeout=180)
        errors = page.console_errors() + page.failed_requests()
        if errors:
            raise CDPError(f"{page_file} did not load cleanly: {errors[:5]}")
        return page.print_pdf(pdf)


def screenshot_page(site: Path, page_path: str, png: Path, full_page: bool = True) -> Path:
    """Serve ``site`` on loopback, open ``page_path`` offline and save a screenshot to ``png``."""
    with serve(site) as base, Chromium() as browser:
        page = browser.new_page()
        page.goto(base + page_path)
        return page.screenshot(png, full_page=full_page)
