"""Browser fixtures: a real ``streamlit run app.py`` server and headless Debian Chromium.

The server runs from the project root (so ``.streamlit/config.toml`` applies) with its own
throw-away ``TIERLENS_DB``; it is started once per test session and its whole process group
is killed at the end. Pages are driven with Playwright's sync API.

Waiting never sleeps for a fixed time. An init script counts the app's script runs by
watching the ``data-test-script-state`` attribute Streamlit keeps on ``stApp``
("running" -> "notRunning"), so a test can wait for exactly the rerun its action caused.

The helpers below are plain functions shared by the browser tests and by
``benchmarks/bench_ui.py``.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
SHOTS = Path(os.environ.get("TIERLENS_SHOTS", "/tmp/shots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}
HEALTH_TIMEOUT_S = 60
# Bounded waits in milliseconds (Playwright's unit). The first render of a fresh server builds
# the demo data and every cache, which takes tens of seconds on a loaded 2-core machine.
FIRST_RENDER_MS = 90_000
RERUN_MS = 30_000

# Counts progress of the app: finished script runs (every change of ``data-test-script-state``
# away from "running"; reading the old value of each mutation record means two changes batched
# into one callback still count) plus messages received from the server. The messages matter
# under load: React may apply "running" and "finished" in one render, so a short run can end
# without the DOM ever showing it; the messages of that run still arrive one by one.
RUN_COUNTER_JS = """
(() => {
  window.__tl = {ended: 0, messages: 0};
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.oldValue === "running") window.__tl.ended += 1;
    }
  });
  // Init scripts run before <html> exists, so observe the document itself.
  observer.observe(document, {
    subtree: true, attributes: true, attributeOldValue: true,
    attributeFilter: ["data-test-script-state"],
  });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => { window.__tl.messages += 1; });
    }
  };
})();
"""

# Idle: connected, no script run going on, and no element still a skeleton (elements are
# lazily loaded components that show a placeholder until their code has arrived).
APP_IDLE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute("data-test-connection-state") === "CONNECTED"
    && app.getAttribute("data-test-script-state") === "notRunning"
    && !document.querySelector(
      '[data-testid="stSkeleton"], [data-testid="stSkeletonElement"], [data-testid="stAppSkeleton"]');
}
"""

# Plotly figures as JSON; typed arrays (Plotly's binary encoding) become plain lists.
CHART_JSON_JS = """
(selector) => {
  const div = document.querySelector(selector);
  if (!div || !div.data) return null;
  return JSON.stringify(div.data, (k, v) => ArrayBuffer.isView(v) ? Array.from(v) : v);
}
"""


# --------------------------------------------------------------------------------- server


@dataclass
class AppServer:
    """A running ``streamlit run app.py``."""

    url: str
    process: subprocess.Popen
    db_path: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(db_path: Path, log_path: Path, *, extra_args: tuple[str, ...] = ()) -> AppServer:
    """Start the app on a free port with ``TIERLENS_DB=db_path``; return once it is healthy.

    Raises:
        RuntimeError: the server exited or was not healthy within HEALTH_TIMEOUT_S.
    """
    port = free_port()
    # The project's config.toml must apply, not settings from the caller's environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(TIERLENS_DB=str(db_path), PYTHONPATH=str(ROOT))
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false", *extra_args,
    ]
    with open(log_path, "wb") as log_file:
        # A new session makes the server a process-group leader, so the group can be killed.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = AppServer(url=f"http://127.0.0.1:{port}", process=process, db_path=db_path, log_path=log_path)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while not _healthy(server.url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"streamlit did not become healthy:\n{server.log()[-4000:]}")
        time.sleep(0.2)
    return server


def stop_server(server: AppServer) -> None:
    """Kill the server's whole process group (SIGTERM, then SIGKILL after 10 s)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# --------------------------------------------------------------------------------- browser


def chromium_path() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def _unavailable(reason: str) -> None:
    if os.environ.get("TIERLENS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def launch_options() -> dict[str, Any]:
    return {"executable_path": chromium_path(), "args": CHROMIUM_ARGS}


# --------------------------------------------------------------------------------- app pages


def app_pages() -> list[tuple[str, str]]:
    """(file stem, URL path) of every page in app.py's navigation whose file exists.

    Read from the ``PAGES`` literal in app.py (parsed, never executed); the default page is
    served at "/" (Streamlit gives the default page no path of its own).
    """
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PAGES" for t in node.targets):
            sections = ast.literal_eval(node.value)
            break
    else:
        raise LookupError("app.py has no PAGES literal")
    pages = []
    for _section, entries in sections:
        for path, _title, _icon, default in entries:
            if (ROOT / path).exists():
                stem = Path(path).stem
                pages.append((stem, "/" if default else f"/{stem}"))
    return pages


def wait_idle(page: Any, timeout_ms: int = RERUN_MS) -> None:
    """Wait until the app is connected and no script run is going on."""
    page.wait_for_function(APP_IDLE_JS, timeout=timeout_ms)


PROGRESS_JS = "() => { const t = window.__tl; return t ? t.ended + t.messages : 0; }"


def runs_ended(page: Any) -> int:
    """The app's progress so far (finished runs plus server messages); pass it to SETTLED_JS."""
    return page.evaluate(PROGRESS_JS)


# True once the app has made progress past ``before`` (a run ended or the server sent
# something) and has then stayed idle, with no further progress, for SETTLE_MS: an app that
# calls st.rerun() is briefly idle between its two runs.
SETTLED_JS = """
([before, settleMs]) => {
  const t = window.__tl;
  const progress = t ? t.ended + t.messages : 0;
  if (!t || progress <= before || !(IDLE)()) { if (t) t.quiet = null; return false; }
  const now = performance.now();
  if (!t.quiet || t.quiet.progress !== progress) { t.quiet = {progress: progress, since: now}; return false; }
  return now - t.quiet.since >= settleMs;
}
""".replace("IDLE", APP_IDLE_JS.strip())
SETTLE_MS = 300


def rerun(page: Any, action: Callable[[], Any], timeout_ms: int = RERUN_MS) -> None:
    """Do ``action`` (a widget change) and wait until the rerun(s) it causes have finished."""
    before = runs_ended(page)
    action()
    page.wait_for_function(SETTLED_JS, arg=[before, SETTLE_MS], timeout=timeout_ms)


def open_app(page: Any, url: str, *, ready: str = "h1", timeout_ms: int = FIRST_RENDER_MS) -> None:
    """Load ``url`` and wait for a finished first run with ``ready`` visible."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_function(SETTLED_JS, arg=[0, SETTLE_MS], timeout=timeout_ms)
    page.locator(ready).first.wait_for(state="visible", timeout=timeout_ms)


def exception_texts(page: Any) -> list[str]:
    """Texts of Streamlit exception boxes, plus the page text if it shows a traceback."""
    boxes = page.locator('[data-testid="stException"]').all_inner_texts()
    body = page.locator("body").inner_text()
    return boxes + ([body[:2000]] if "Traceback" in body else [])


def chart_json(page: Any, key: str) -> str | None:
    """The Plotly traces of the chart with widget key ``key`` as JSON (None when absent)."""
    return page.evaluate(CHART_JSON_JS, f".st-key-{key} .js-plotly-plot")


def chart_traces(page: Any, key: str) -> list[dict[str, Any]]:
    text = chart_json(page, key)
    return json.loads(text) if text else []


def metrics(page: Any) -> dict[str, str]:
    """Metric label -> shown value of every st.metric in the main area."""
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]'))
             .map(m => [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                        m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""
    )


def choose(page: Any, key: str, option: str) -> None:
    """Pick ``option`` (its shown text) in the selectbox with widget key ``key``; waits for the rerun.

    Selectboxes keyed per language are named with their language suffix (``_w_preset_en``).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(f".st-key-{key} [data-testid='stSelectbox']")
    choice = page.locator('[role="listbox"] [role="option"]').filter(has_text=option).first
    # The first click on a freshly drawn selectbox may only focus it; click until the list opens.
    for _attempt in range(3):
        box.click()
        try:
            choice.wait_for(state="visible", timeout=3_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    rerun(page, choice.click)


def open_expander_of(page: Any, key: str) -> None:
    """Open the expander that holds the widget with key ``key`` (if it is closed)."""
    expander = page.locator('[data-testid="stExpander"]').filter(has=page.locator(f".st-key-{key}")).first
    details = expander.locator("details")
    if details.count() and details.first.get_attribute("open") is None:
        expander.locator("summary").first.click()
    page.locator(f".st-key-{key}").first.wait_for(state="visible")


def slider_value(page: Any, key: str) -> int:
    # Streamlit 1.67 sliders are react-aria sliders around a visually hidden range input.
    return int(page.locator(f".st-key-{key} input[type='range']").first.input_value())


def press_slider(page: Any, key: str, arrow: str) -> None:
    """Move a slider one step with the keyboard ("ArrowRight"/"ArrowLeft"); waits for the rerun."""
    thumb = page.locator(f".st-key-{key} input[type='range']").first
    thumb.focus()
    rerun(page, lambda: thumb.press(arrow))


def set_language(page: Any, label: str) -> None:
    """Click the language switch button showing ``label`` ("English" / "中文")."""
    button = page.locator(".st-key-_w_lang [role='radio']").filter(has_text=label).first
    if button.get_attribute("aria-checked") != "true":
        rerun(page, button.click)


def upload(page: Any, path: Path) -> None:
    """Put ``path`` into the page's file uploader; waits for the rerun that reads it."""
    rerun(page, lambda: page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path)))


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page (not just the viewport) to SHOTS/<name>.png.

    Streamlit scrolls inside its own container, so the viewport is made as tall as the
    content for the shot and restored afterwards.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{name}.png"
    size = page.viewport_size or VIEWPORT
    height = page.evaluate(
        """() => { const main = document.querySelector('[data-testid="stMainBlockContainer"]');
                   const side = document.querySelector('[data-testid="stSidebarContent"]');
                   return Math.max(main ? main.scrollHeight + 120 : 0, side ? side.scrollHeight : 0); }"""
    )
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 8000))})
    # Let Plotly's responsive charts relayout to the new size before the shot.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(target))
    page.set_viewport_size(size)
    return target


# --------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app on a free port, with a data set store in a temp dir (never data/)."""
    if chromium_path() is None:
        _unavailable("Chromium not installed: apt-get install chromium")
    base = Path(tempfile.mkdtemp(prefix="tierlens-browser-"))
    try:
        server = start_server(base / "store", base / "streamlit.log")
    except RuntimeError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        stop_server(server)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(app_server: AppServer) -> Iterator[Any]:
    """Headless Debian Chromium, warmed up: the app's first (slow, cache-filling) run is done."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright not installed: pip install -r requirements-dev.txt")
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(RUN_COUNTER_JS)
            open_app(context.new_page(), app_server.url, ready='[data-testid="stPlotlyChart"]')
            context.close()
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    """Factory of pages, each in its own browser context (own cookies, own Streamlit session)."""
    contexts = []

    def make() -> Any:
        context = browser.new_context(viewport=VIEWPORT, locale="en-US")
        context.add_init_script(RUN_COUNTER_JS)
        context.set_default_timeout(RERUN_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()
