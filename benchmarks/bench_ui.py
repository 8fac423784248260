"""UI performance in a real browser: slider-to-chart latency and many concurrent sessions.

1. Latency on a large data set: about 5M demo transactions (~1M customers) are saved to a
   store the server uses, the app is opened on that data set, and the "score levels" slider is
   moved with the keyboard. Each move is timed from the key press to the R x F grid in the DOM
   showing the new number of levels. The first visit of a level recomputes scoring and tiers
   ("cold"); going back to a level seen before is served from Streamlit's cache ("warm").
2. Concurrency on the demo data: N browser contexts (separate sessions) at once, each
   opening the app, uploading its own small CSV and moving the slider; counts exception boxes,
   reports the slider-to-chart p95 under that load and the server's RSS before, at peak and
   after the sessions close (Streamlit keeps a disconnected session for
   ``server.disconnectedSessionTTL``, 120 s by default, so the last sample is taken after it).

    .venv/bin/python benchmarks/bench_ui.py                      # both parts
    .venv/bin/python benchmarks/bench_ui.py --part latency --customers 200000

Needs Debian's chromium (/usr/bin/chromium) and Playwright. The generated store is cached
in --cache-dir, so a second run skips generating and saving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402
    APP_IDLE_JS,
    RUN_COUNTER_JS,
    SETTLE_MS,
    SETTLED_JS,
    VIEWPORT,
    chromium_path,
    launch_options,
    open_app,
    open_expander_of,
    slider_value,
    start_server,
    stop_server,
)

GRID = ".st-key-rf_grid .js-plotly-plot"
BINS_INPUT = ".st-key-_w_bins input[type='range']"
GRID_SIZE_JS = "() => { const d = document.querySelector('.st-key-rf_grid .js-plotly-plot'); return d && d.data ? d.data[0].x.length : 0; }"
BENCH_SEED = 7
# Concurrent sessions poll every 50 ms instead of on every animation frame: twenty pages
# evaluating a script at 60 Hz cost the browsers more CPU than the server gets (measured: the
# browsers took 1.9 of 2 cores, the server 0.14). 50 ms is the resolution of the timings.
POLL_MS = 50
# What a stuck page looks like from the inside, for the failure report.
STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return JSON.stringify({
    connection: app && app.getAttribute("data-test-connection-state"),
    script: app && app.getAttribute("data-test-script-state"),
    runs_ended: window.__tl && window.__tl.ended,
    messages: window.__tl && window.__tl.messages,
    skeletons: document.querySelectorAll('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"], [data-testid="stAppSkeleton"]').length,
    exceptions: document.querySelectorAll('[data-testid="stException"]').length,
    path: location.pathname,
  });
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return f"n={len(values)} median={statistics.median(values):.3f}s p95={percentile(values, 0.95):.3f}s max={max(values):.3f}s"


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (psutil when available, else /proc)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler(threading.Thread):
    """Samples a process's RSS every ``interval`` seconds; ``peak`` is the largest seen."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        self._stop_event.set()
        self.join(timeout=5)
        return self.peak


def cpu_seconds(match, *, reaped: bool = False) -> float:
    """CPU seconds (user + system) used so far by every live process whose command line
    satisfies ``match``; with ``reaped``, also by their children that have ended (a closed
    browser context's renderer is gone, but its time is added to the process that reaped it).
    Read from /proc, so Linux only (NaN elsewhere)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    proc = Path("/proc")
    if not proc.exists():
        return float("nan")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not match(int(entry.name), command):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        used = fields[11:15] if reaped else fields[11:13]
        total += sum(int(f) for f in used) / tick
    return total


def server_cpu(pid: int) -> float:
    return cpu_seconds(lambda p, _: p == pid)


def descendants(root: int) -> set[int]:
    """Process ids below ``root`` in the process tree (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def browser_cpu() -> float:
    """CPU of the Chromium processes this benchmark started (not other browsers on the machine)."""
    ours = descendants(os.getpid())
    return cpu_seconds(lambda pid, command: pid in ours and "chromium" in command, reaped=True)


def load_label() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


# --------------------------------------------------------------------------------- part 1


def large_store(cache_dir: Path, customers: int) -> tuple[Path, str]:
    """A store holding the generated data set (cached between runs); returns (path, id)."""
    from segmentation.store import Store

    path = cache_dir / f"bench-ui-{customers}-{BENCH_SEED}-store"
    name = f"bench {customers} customers"
    with Store.open(path) as store:
        listed = store.list()
        found = listed.filter(listed["name"] == name)
        if found.height:
            return path, found["id"][0]
        from segmentation.demo import generate

        started = time.perf_counter()
        tx = generate(customers, seed=BENCH_SEED)
        print(f"  generated {tx.height:,} transactions in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        dataset_id = store.save(tx, name=name)
        print(f"  saved to {path} in {time.perf_counter() - started:.1f}s")
        return path, dataset_id


def move_and_time(page, arrow: str) -> tuple[int, float]:
    """Press an arrow on the focused bins slider; seconds until the grid shows the new size."""
    target = slider_value(page, "_w_bins") + (1 if arrow == "ArrowRight" else -1)
    thumb = page.locator(BINS_INPUT).first
    thumb.focus()
    started = time.perf_counter()
    thumb.press(arrow)
    page.wait_for_function(f"() => ({GRID_SIZE_JS})() === {target}", polling="raf", timeout=300_000)
    elapsed = time.perf_counter() - started
    # The next move starts from an idle app (the rest of the page may still be rendering).
    page.wait_for_function(SETTLED_JS, arg=[0, SETTLE_MS], timeout=300_000)
    return target, elapsed


def part_latency(args: argparse.Namespace) -> dict:
    from playwright.sync_api import sync_playwright

    print(f"[latency] {args.customers:,} customers, {load_label()}")
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    db_path, dataset_id = large_store(args.cache_dir, args.customers)
    server = start_server(db_path, args.cache_dir / "latency-server.log")
    result: dict = {"customers": args.customers, "dataset": dataset_id}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch_options())
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(RUN_COUNTER_JS)
            page = context.new_page()
            started = time.perf_counter()
            open_app(page, f"{server.url}/?dataset={dataset_id}&preset=value3&lang=en", ready=GRID,
                     timeout_ms=600_000)
            result["first_render_s"] = time.perf_counter() - started
            result["rss_after_first_render_mb"] = rss_mb(server.process.pid)
            print(f"  first render {result['first_render_s']:.1f}s, server RSS {result['rss_after_first_render_mb']:.0f} MB")
            open_expander_of(page, "_w_bins")
            cold, warm, seen = [], [], {slider_value(page, "_w_bins")}
            # Up to 10 and down to 2 and back: every level once cold, then revisits are warm.
            plan = ["ArrowRight"] * 5 + ["ArrowLeft"] * 8 + ["ArrowRight"] * 3
            for arrow in plan[: args.moves]:
                level, elapsed = move_and_time(page, arrow)
                kind = "warm" if level in seen else "cold"
                (warm if kind == "warm" else cold).append(elapsed)
                seen.add(level)
                print(f"    bins -> {level}: {elapsed:.3f}s ({kind})")
            errors = page.locator('[data-testid="stException"]').count()
            browser.close()
    finally:
        stop_server(server)
    all_moves = cold + warm
    result.update(
        cold=cold, warm=warm, errors=errors,
        median_s=statistics.median(all_moves), p95_s=percentile(all_moves, 0.95),
    )
    print(f"  cold moves: {summary(cold)}")
    print(f"  warm moves: {summary(warm)}")
    print(f"  all moves:  {summary(all_moves)}  (target < 0.5 s); exception boxes: {errors}")
    return result


# --------------------------------------------------------------------------------- part 2


async def wait_idle(page) -> None:
    await page.wait_for_function(APP_IDLE_JS, timeout=180_000, polling=POLL_MS)


async def one_session(browser, url: str, index: int, csv: Path, customers: int, moves: int, out: dict) -> None:
    """One user: open the Data page, upload and save their own file, then on the Overview check
    that they see their own customers and move the bins slider.

    Every wait is on content (the save button, the success message, the customer count, the grid
    size), not on counting script runs: under heavy load React can apply "running" and
    "finished" in one render, so a run can end without the DOM ever showing it running.
    """
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(180_000)
    page = await context.new_page()
    stage = "open"
    try:
        await page.goto(f"{url}/data?lang=en&preset=value3", wait_until="domcontentloaded")
        await page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached")
        await wait_idle(page)
        stage = "upload"
        await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        await page.locator(".st-key-save button").wait_for(state="visible")
        await wait_idle(page)
        out["uploaded"] += 1
        stage = "save"
        await page.locator(".st-key-save button").click()
        await page.get_by_text(f"now using '{csv.stem}'").wait_for(state="visible")
        await wait_idle(page)
        stage = "navigate"
        await page.locator('[data-testid="stSidebarNav"] a').first.click()
        await page.locator(GRID).first.wait_for(state="visible")
        await wait_idle(page)
        expander = page.locator('[data-testid="stExpander"]').filter(has=page.locator(".st-key-_w_bins")).first
        await expander.locator("summary").first.click()
        thumb = page.locator(BINS_INPUT).first
        await thumb.wait_for(state="attached")
        for step in range(moves):
            stage = f"slider move {step + 1}"
            arrow = "ArrowRight" if (index + step) % 2 == 0 or step < 2 else "ArrowLeft"
            target = int(await thumb.input_value()) + (1 if arrow == "ArrowRight" else -1)
            await thumb.focus()
            started = time.perf_counter()
            await thumb.press(arrow)
            await page.wait_for_function(f"() => ({GRID_SIZE_JS})() === {target}", polling=POLL_MS, timeout=180_000)
            out["latencies"].append(time.perf_counter() - started)
            await wait_idle(page)
        # Isolation: this session still sees exactly its own data set.
        shown = await page.locator('[data-testid="stMain"] [data-testid="stMetricValue"]').first.inner_text()
        if shown.strip().replace(",", "") != str(customers):
            out["foreign"].append(f"session {index} expected {customers} customers, saw {shown!r}")
        out["errors"] += await page.locator('[data-testid="stException"]').count()
        out["completed"] += 1
    except Exception as exc:  # a failed session is a data point, not the end of the benchmark
        try:
            state = await page.evaluate(STATE_JS)
            await page.screenshot(path=str(Path(tempfile.gettempdir()) / f"tierlens-session-{index}.png"))
        except Exception as probe:  # the page itself may be gone
            state = f"page unavailable: {type(probe).__name__}"
        out["failures"].append(
            f"session {index} at {stage}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}; page: {state}"
        )
    finally:
        await context.close()


async def run_sessions(url: str, sessions: int, moves: int, browsers: int, tmp: Path) -> dict:
    from playwright.async_api import async_playwright

    out: dict = {"latencies": [], "errors": 0, "completed": 0, "uploaded": 0, "failures": [], "foreign": []}
    files, counts = [], []
    for i in range(sessions):
        # Each session's file has a different number of customers, so seeing another session's
        # data shows up as a wrong count.
        csv = tmp / f"session-{i:02d}.csv"
        counts.append(40 + i)
        rows = [f"S{i}-{c},2024-{1 + c % 12:02d}-{1 + (c * 7) % 27:02d},{10 + c * (i + 1)},o{i}-{c}" for c in range(40 + i)]
        csv.write_text("customer_id,order_date,amount,order_id\n" + "\n".join(rows) + "\n", encoding="utf-8")
        files.append(csv)
    async with async_playwright() as p:
        opened = [await p.chromium.launch(**launch_options()) for _ in range(browsers)]
        started = time.perf_counter()
        await asyncio.gather(*(
            one_session(opened[i % browsers], url, i, files[i], counts[i], moves, out) for i in range(sessions)
        ))
        out["wall_s"] = time.perf_counter() - started
        # Read while the browsers still run: they are launched here, so this is all theirs.
        out["browser_cpu_s"] = browser_cpu()
        for browser in opened:
            await browser.close()
    return out


def part_concurrency(args: argparse.Namespace) -> dict:
    from playwright.sync_api import sync_playwright

    print(f"[concurrency] {args.sessions} sessions, {load_label()}")
    tmp = Path(tempfile.mkdtemp(prefix="tierlens-bench-ui-"))
    server = start_server(tmp / "store", tmp / "server.log")
    pid = server.process.pid
    result: dict = {"sessions": args.sessions}
    try:
        # Warm the shared caches (demo data, preset scoring) the way the first visitor would.
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch_options())
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(RUN_COUNTER_JS)
            open_app(context.new_page(), f"{server.url}/?preset=value3&lang=en", ready=GRID, timeout_ms=180_000)
            browser.close()
        result["rss_before_mb"] = rss_mb(pid)
        sampler = RssSampler(pid)
        sampler.start()
        # Who used the CPU: on a small machine the browsers can starve the server (or the
        # reverse), and the slider-to-chart time includes both.
        cpu_before = server_cpu(pid)
        out = asyncio.run(run_sessions(server.url, args.sessions, args.session_moves, args.browsers, tmp))
        result["rss_peak_mb"] = sampler.stop()
        result["server_cpu_s"] = server_cpu(pid) - cpu_before
        closed = time.perf_counter()
        after = {}
        for wait in args.after:
            time.sleep(max(0.0, wait - (time.perf_counter() - closed)))
            after[wait] = rss_mb(pid)
            print(f"  RSS {wait:>4.0f}s after the last session closed: {after[wait]:.0f} MB")
        result["rss_after_mb"] = after
        result.update({k: v for k, v in out.items() if k != "latencies"})
        result["latency"] = {
            "median_s": statistics.median(out["latencies"]) if out["latencies"] else None,
            "p95_s": percentile(out["latencies"], 0.95), "n": len(out["latencies"]),
        }
    finally:
        stop_server(server)
    print(f"  completed {out['completed']}/{args.sessions} sessions in {out['wall_s']:.1f}s; uploads shown: "
          f"{out['uploaded']}; exception boxes: {out['errors']}; failures: {len(out['failures'])}; "
          f"sessions that saw someone else's data: {len(out['foreign'])}")
    for foreign in out["foreign"]:
        print(f"    {foreign}")
    for failure in out["failures"]:
        print(f"    {failure}")
    print(f"  slider-to-chart under load: {summary(out['latencies'])}")
    print(f"  CPU used during the sessions: server {result['server_cpu_s']:.1f}s, browsers "
          f"{out['browser_cpu_s']:.1f}s, over {out['wall_s']:.1f}s on {os.cpu_count()} cores")
    print(f"  server RSS: before {result['rss_before_mb']:.0f} MB, peak {result['rss_peak_mb']:.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["latency", "concurrency", "both"], default="both")
    parser.add_argument("--customers", type=int, default=1_050_000, help="customers in the large data set")
    parser.add_argument("--moves", type=int, default=16, help="slider moves in the latency part (max 16)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--session-moves", type=int, default=4)
    parser.add_argument("--browsers", type=int, default=2, help="browser processes the sessions share")
    parser.add_argument("--after", type=float, nargs="*", default=[10.0, 130.0],
                        help="seconds after the sessions close to sample the server's RSS")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "tierlens-bench-ui")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if chromium_path() is None:
        sys.exit("Chromium not installed: apt-get install chromium")
    results = {"load": load_label()}
    if args.part in ("latency", "both"):
        results["latency"] = part_latency(args)
    if args.part in ("concurrency", "both"):
        results["concurrency"] = part_concurrency(args)
    results["load_after"] = load_label()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
