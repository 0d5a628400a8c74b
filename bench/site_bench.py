"""The public site's speed: / and a city page under load beside a floor; Largest Contentful Paint; weight.

    .venv/bin/python bench/site_bench.py        # ~4 min on 2 cores; rewrites its section of RESULTS.md
    .venv/bin/python bench/site_bench.py --seconds 5 --repeats 1 --no-write

For the embedded default (SQLite) and PostgreSQL: gunicorn as bench/run.py runs it serves the app,
and the same gunicorn serves the floor, a one-view Flask app that returns the home page's bytes
as they were rendered once (what any page costs before templates, forms and headers). Each is
loaded open loop with GETs at --rate (request i sent at t0 + i/rate, its latency counted from
then), every request a first visit (no cookies kept), after a short warm-up; floor and pages take
turns in each of --repeats rounds, and p50/p99 are the medians of the rounds.
Then, on the SQLite server, headless Chromium at 390 px with an empty cache: the Largest
Contentful Paint (PerformanceObserver 'largest-contentful-paint') and every host the page
asked; and the page weight, HTML + CSS + JS, gzip-compressed as a compressing proxy sends it.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_OPTIONS = ["--workers", "2", "--threads", "4", "--worker-class", "gthread"]
PAGES = {"home": "/", "city page": "/help/tx/austin"}
SECTION_START = "<!-- site_bench: start -->"
SECTION_END = "<!-- site_bench: end -->"
# The targets.
P99_TARGET_MS = 20.0
LCP_TARGET_MS = 500.0
WEIGHT_TARGET_BYTES = 60 * 1024
WARM_UP_SECONDS = 2.0


# --- page weight (also checked by tests/intake/test_page_weight.py) -------------------------


def page_weight(path: str, fetch: Callable[[str], bytes]) -> dict[str, int]:
    """Bytes of a page's HTML and the CSS and JS it links, raw and gzip-compressed (level 6)."""
    html = fetch(path)
    assets = re.findall(rb'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    assets += re.findall(rb'<script[^>]+src="([^"]+)"', html)
    bodies = [html, *(fetch(asset.decode()) for asset in assets)]
    return {
        "files": len(bodies),
        "raw": sum(len(body) for body in bodies),
        "gzip": sum(len(gzip.compress(body, compresslevel=6)) for body in bodies),
    }


# --- the floor: the home page's bytes from the least a Flask view can do --------------------


def create_floor_app():
    from flask import Flask, Response

    body = Path(os.environ["SITE_FLOOR_BODY"]).read_bytes()
    floor = Flask(__name__)

    @floor.get("/floor")
    def page():
        return Response(body, mimetype="text/html")

    return floor


# --- load ------------------------------------------------------------------------------------


async def _open_loop_get(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    import aiohttp

    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=10)
    ) as session:

        async def one(intended: float) -> None:
            nonlocal errors
            try:
                async with session.get(url, headers={"Accept-Language": "en-US"}) as response:
                    await response.read()
                    errors += response.status != 200
            except (aiohttp.ClientError, TimeoutError, OSError):
                errors += 1
            latencies.append(loop.time() - intended)

        t0 = loop.time() + 0.05
        tasks = []
        for index in range(int(rate * seconds)):
            intended = t0 + index / rate
            if (delay := intended - loop.time()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(intended)))
        await asyncio.gather(*tasks)
    return sorted(latencies), errors


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def load(url: str, rate: float, seconds: float) -> dict:
    latencies, errors = asyncio.run(_open_loop_get(url, rate, seconds))
    return {
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "errors": errors,
        "sent": len(latencies),
    }


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class Server:
    """gunicorn in its own process group, stopped (group and all) on leaving the block."""

    def __init__(self, target: str, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *GUNICORN_OPTIONS, target]
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def __enter__(self) -> Server:
        wait_http(self.url + "/healthz" if "leadrouter" in self.process.args[-1] else self.url + "/floor")
        time.sleep(2)  # both workers have imported the app
        return self

    def cpu_seconds(self) -> float:
        """CPU time used so far by gunicorn's workers (user + system), from /proc."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        for pid in children:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def __exit__(self, *exc_info) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def app_env(instance: Path, database_url: str | None) -> dict:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        env.pop(name, None)
    env.update(
        PYTHONPATH=str(ROOT),
        LEADROUTER_INSTANCE_PATH=str(instance),
        SECRET_KEY="bench-secret-key-0123456789",
        PUBLIC_BASE_URL="https://bench.leadrouter.invalid",
        HELPLINE_NUMBER="+18005550100",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def recreate_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


# --- the browser -----------------------------------------------------------------------------

_LCP_SCRIPT = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    const entries = list.getEntries();
    resolve(entries[entries.length - 1].startTime);
  }).observe({type: 'largest-contentful-paint', buffered: true});
})"""


def largest_contentful_paint(base_url: str, path: str, runs: int) -> tuple[list[float], set[str]]:
    """LCP in ms at 390 px, each run in a fresh context (empty cache); and every host the page asked."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    hosts: set[str] = set()
    paints = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3)
            page = context.new_page()
            page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
            page.goto(base_url + path, wait_until="load")
            paints.append(page.evaluate(_LCP_SCRIPT))
            context.close()
        browser.close()
    return paints, hosts


# --- the run ---------------------------------------------------------------------------------


def measure_backend(name: str, env: dict, work: Path, args, with_browser: bool) -> dict:
    print(f"[{name}] migrating", flush=True)
    subprocess.run(
        [str(BIN / "flask"), "--app", "leadrouter", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    figures: dict = {"pages": {label: [] for label in PAGES}, "floor": []}
    floor_body = work / f"{name}-floor.html"
    with Server("leadrouter.wsgi:app", env, work / f"{name}-web.log") as web:
        floor_body.write_bytes(urllib.request.urlopen(web.url + "/").read())
        floor_env = {**env, "SITE_FLOOR_BODY": str(floor_body)}
        with Server("bench.site_bench:create_floor_app()", floor_env, work / f"{name}-floor.log") as floor:
            targets = {"floor": floor.url + "/floor"}
            targets.update({label: web.url + path for label, path in PAGES.items()})
            for url in targets.values():
                load(url, args.rate, WARM_UP_SECONDS)  # templates compiled, connections open: not counted
            # Floor and pages take turns, so each repeat measures them in the same moment of a noisy machine.
            servers = {"floor": floor}
            for repeat in range(args.repeats):
                for label, url in targets.items():
                    server = servers.get(label, web)
                    spent = server.cpu_seconds()
                    result = load(url, args.rate, args.seconds)
                    result["cpu_ms"] = (server.cpu_seconds() - spent) * 1000 / max(1, result["sent"])
                    (figures["floor"] if label == "floor" else figures["pages"][label]).append(result)
                    print(f"  {name} {label} run {repeat + 1}: {_fmt(result)}", flush=True)
        if with_browser:
            paints, hosts = largest_contentful_paint(web.url, "/", args.lcp_runs)
            figures["lcp"] = paints
            figures["hosts"] = sorted(hosts)
            fetch = lambda path: urllib.request.urlopen(web.url + path).read()  # noqa: E731
            figures["weight"] = {label: page_weight(path, fetch) for label, path in PAGES.items()}
            print(f"  LCP {paints} ms; hosts {sorted(hosts)}; weight {figures['weight']}", flush=True)
    return figures


def _fmt(result: dict) -> str:
    errors = f", {result['errors']} errors" if result["errors"] else ""
    cpu = f"; {result['cpu_ms']:.2f} CPU-ms/request" if "cpu_ms" in result else ""
    return f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms ({result['sent']} sent{errors}{cpu})"


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def section(results: dict, command: str, started: datetime, args) -> str:
    load_avg = " ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        SECTION_START,
        "## The public site (bench/site_bench.py)",
        "",
        f"- command: `{command}`",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; load average at the end {load_avg}",
        f"- {os.cpu_count()} cores, shared with other work while it ran: the machine is noisy, so every "
        f"load figure is the median of {args.repeats} runs of {args.seconds:.0f} s at {args.rate:.0f} GETs/s "
        "(open loop, each a first visit: no cookies, so the form's page starts a session every time)",
        f"- floor: the same gunicorn (`{' '.join(GUNICORN_OPTIONS)}`) serving the home page's bytes from "
        "a one-view Flask app; floor, `/` and the city page take turns in each repeat, after a "
        f"{WARM_UP_SECONDS:.0f} s warm-up of each",
        "- Largest Contentful Paint: median of the runs, each in a fresh browser context (empty cache); "
        "the first run also starts Chromium's renderer",
        "- CPU-ms/req: CPU time of gunicorn's workers during a run over the requests sent: what a request "
        "costs, much less sensitive to the other work on the machine than its latency",
        "",
        "| figure | measured (median of runs) | floor (same run) | target | result |",
        "|---|---|---|---|---|",
    ]
    for backend, figures in results.items():
        floor = figures["floor"]
        floor_text = (
            f"p50 {_median(floor, 'p50'):.1f} ms, p99 {_median(floor, 'p99'):.1f} ms; "
            f"{_median(floor, 'cpu_ms'):.2f} CPU-ms/req"
        )
        for label, runs in figures["pages"].items():
            p99 = _median(runs, "p99")
            errors = sum(run["errors"] for run in runs)
            measured = f"p50 {_median(runs, 'p50'):.1f} ms, p99 {p99:.1f} ms" + (
                f", {errors} errors" if errors else ""
            )
            measured += f"; {_median(runs, 'cpu_ms'):.2f} CPU-ms/req"
            met = p99 <= P99_TARGET_MS and not errors
            lines.append(
                f"| `{PAGES[label]}` ({label}), {backend}, {args.rate:.0f} req/s | {measured} | {floor_text} "
                f"| p99 <= {P99_TARGET_MS:.0f} ms | **{'met' if met else 'missed'}** |"
            )
    browser = next(figures for figures in results.values() if "lcp" in figures)
    lcp = statistics.median(browser["lcp"])
    runs_text = ", ".join(f"{paint:.0f}" for paint in browser["lcp"])
    verdict = "met" if lcp <= LCP_TARGET_MS else "missed"
    lines.append(
        f"| Largest Contentful Paint, `/`, headless Chromium 390 px, empty cache | {lcp:.0f} ms "
        f"(runs: {runs_text} ms) | - | <= {LCP_TARGET_MS:.0f} ms | **{verdict}** |"
    )
    for label, weight in browser["weight"].items():
        ok = weight["gzip"] <= WEIGHT_TARGET_BYTES
        lines.append(
            f"| page weight, `{PAGES[label]}`: HTML + CSS + JS ({weight['files']} files), gzip | "
            f"{weight['gzip'] / 1024:.1f} KB ({weight['raw'] / 1024:.1f} KB raw) | - | <= 60 KB "
            f"| **{'met' if ok else 'missed'}** |"
        )
    hosts = browser["hosts"]
    third_party = [host for host in hosts if not host.startswith("127.0.0.1")]
    lines.append(
        f"| hosts the home page asked (Chromium) | {', '.join(hosts)} | - | this site only "
        f"| **{'met' if not third_party else 'missed'}** |"
    )
    lines += ["", "Every round (p99, app / floor): a slow floor too means other work disturbed it", ""]
    for backend, figures in results.items():
        floors = [run["p99"] for run in figures["floor"]]
        for label, runs in figures["pages"].items():
            pairs = ", ".join(
                f"{run['p99']:.1f} / {floor:.1f}" for run, floor in zip(runs, floors, strict=True)
            )
            lines.append(f"- `{PAGES[label]}`, {backend}: {pairs} ms")
    lines += ["", SECTION_END, ""]
    return "\n".join(lines)


def kept_section(results_path: Path) -> str | None:
    """This benchmark's section of RESULTS.md, for bench/run.py to put back after rewriting the file."""
    if not results_path.exists():
        return None
    text = results_path.read_text()
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start < 0 or end < 0:
        return None
    return text[start : end + len(SECTION_END)] + "\n"


def put_section(results_path: Path, text: str | None) -> None:
    """Replace (or append) this benchmark's section in RESULTS.md."""
    if not text:
        return
    current = results_path.read_text() if results_path.exists() else "# Benchmark results\n"
    old = kept_section(results_path)
    if old:
        current = current.replace(old, "").rstrip("\n") + "\n"
    results_path.write_text(current.rstrip("\n") + "\n\n" + text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lcp-runs", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/leadrouter_bench_site",
        help="PostgreSQL database to drop, create and migrate (default %(default)s)",
    )
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    command = "python bench/site_bench.py" + (" " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else "")
    work = Path(tempfile.mkdtemp(prefix="leadrouter-site-bench-"))
    try:
        # As bench/run.py: the load generator shares the cores with the servers; let it send on time.
        os.nice(-5)
    except OSError:
        print("  (could not raise the load generator's priority)", flush=True)
    print(f"site benchmark: logs in {work}", flush=True)
    sqlite_instance = work / "embedded"
    sqlite_instance.mkdir()
    results = {
        "embedded (SQLite)": measure_backend(
            "embedded", app_env(sqlite_instance, None), work, args, with_browser=True
        )
    }
    recreate_postgres(args.database_url)
    pg_instance = work / "postgresql"
    pg_instance.mkdir()
    results["PostgreSQL"] = measure_backend(
        "postgresql", app_env(pg_instance, args.database_url), work, args, with_browser=False
    )
    text = section(results, command, started, args)
    print(text)
    if args.write:
        put_section(Path(args.results), text)
        print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
