"""One pass of the benchmark (production or embedded): floors, intake, routing with workers."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness.common import (
    GUNICORN_OPTIONS,
    HELPLINE,
    KEYS,
    PUBLIC_BASE_URL,
    ROOT,
    TWILIO_TOKEN,
    Figure,
    Plan,
    ms,
    percentile,
    say,
    verdict,
)
from bench.harness.database import Database, recreate_postgres_database, statements_per_lead
from bench.harness.judging import NOT_JUDGED, Spread, judged, probe_seconds, run_seconds
from bench.harness.load import LoadResult, Traffic, constant_rate, open_loop
from bench.harness.processes import Processes, cpu_seconds, free_port, rss_mb
from bench.harness.stack import Stack, confirm_rate, purge_routing_queue, search_max_rate
from bench.harness.stress import StressPhases


class Pass(StressPhases):
    """One pass over a stack: the floors, then the app, figure by figure."""

    def __init__(self, kind: str, plan: Plan, processes: Processes, work: Path, args):
        self.kind = kind  # "production" | "embedded"
        self.plan = plan
        self.processes = processes
        self.work = work / kind
        self.work.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.raw: dict = {}

    # -- set-up

    def prepare(self, redis_url: str | None) -> None:
        instance = self.work / "instance"
        instance.mkdir(exist_ok=True)
        env = dict(os.environ)
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
            env.pop(name, None)
        env.update(
            PYTHONPATH=str(ROOT),
            LEADROUTER_INSTANCE_PATH=str(instance),
            SECRET_KEY="bench-secret-key-0123456789",
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            HELPLINE_NUMBER=HELPLINE,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            RATELIMIT_API_LEADS="1000000 per minute",
            BENCH_FLOOR_OUT=str(self.work / "noop.tsv"),
        )
        prom = self.work / "prometheus"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
        if self.kind == "production":
            from leadrouter.config import normalize_database_url

            self.database_url = normalize_database_url(self.args.database_url)
            self.broker_url = redis_url
            env.update(DATABASE_URL=self.database_url, CELERY_BROKER_URL=redis_url, REDIS_URL=redis_url)
            recreate_postgres_database(self.database_url)
        else:
            self.database_url = f"sqlite:///{instance / 'leadrouter.sqlite'}"
            self.broker_url = f"sqla+sqlite:///{instance / 'broker.sqlite'}"
        self.env = env
        self.db = Database(self.database_url, self.broker_url, instance)
        self.db.migrate()
        self.traffic = Traffic(self.db.create_team(capacity=100_000, keys=KEYS))
        self.stack = Stack(self.kind, self.processes, env, free_port())
        # The floor app keeps running beside the app for the whole pass, so every phase it is
        # compared with reruns it at the same rate, in the same minutes, run for run.
        self.floor = Stack(f"{self.kind}-floor", self.processes, env, free_port())

    # -- helpers

    def intake_probe(
        self, rate: float, seconds: float | None = None, path: str = "/api/v1/leads", warmup: bool = True
    ) -> LoadResult:
        """A probe of the app (or, for /floor, of the floor app beside it) at a constant rate.

        Without `seconds` it is a max-rate probe: long enough for a judged p99 (judging.py).
        """
        stack = self.floor if path == "/floor" else self.stack
        seconds = seconds or probe_seconds(rate, self.plan.probe_seconds, self.plan.quick)
        if warmup:
            count = max(1, int(rate * self.plan.warmup_seconds))
            open_loop(
                stack.base_url,
                constant_rate(self.traffic.intake(count, path), rate),
                label_rate=rate,
                seconds=self.plan.warmup_seconds,
            )
        requests = self.traffic.intake(int(rate * seconds), path)
        result = open_loop(stack.base_url, constant_rate(requests, rate), label_rate=rate, seconds=seconds)
        time.sleep(0.5)
        return result

    def probe_at(self, base_url: str, rate: float, path: str, seconds: float) -> LoadResult:
        """A probe of whatever server listens at base_url (intake bodies, one key), after a short warm-up."""
        self.traffic.keys_in_use = 1
        warm = self.traffic.intake(max(1, int(rate * self.plan.warmup_seconds)), path)
        open_loop(base_url, constant_rate(warm, rate), label_rate=rate, seconds=self.plan.warmup_seconds)
        requests = self.traffic.intake(int(rate * seconds), path)
        result = open_loop(base_url, constant_rate(requests, rate), label_rate=rate, seconds=seconds)
        time.sleep(0.5)
        return result

    def paired_runs(self, rate: float, app_requests) -> tuple[list[LoadResult], list[LoadResult]]:
        """The app and the floor beside it at one rate, run for run (floor first), plan.repetitions times.

        `app_requests(count)` makes the app's requests; each run is long enough that the runs
        pooled hold enough requests for a judged p99.
        """
        runs = self.plan.repetitions
        seconds = run_seconds(rate, self.plan.phase_seconds, runs, self.plan.quick)
        apps, floors = [], []
        for _run in range(runs):
            floors.append(self.intake_probe(rate, seconds=seconds, path="/floor", warmup=False))
            result = open_loop(
                self.stack.base_url,
                constant_rate(app_requests(int(rate * seconds)), rate),
                label_rate=rate,
                seconds=seconds,
            )
            say(f"    floor {floors[-1].summary()}\n    app   {result.summary()}")
            apps.append(result)
            time.sleep(0.5)
        return apps, floors

    def judged_figure(self, name, value, floor, ratio, target, ok, note, results, fraction=0.99) -> Figure:
        """A figure whose verdict rests on `results`: not judged when they are too few or too short."""
        samples = sum(len(result.latencies) for result in results)
        verdict_, caveat = judged(ok, runs=len(results), samples=samples, fraction=fraction)
        figure = self.figure(name, value, floor, ratio, target, verdict_, note)
        figure.caveat = caveat or ""
        return figure

    def comfortable(self, fraction: float, ceiling: int) -> int:
        """A rate the whole stack keeps up with: a fraction of the best intake rate found."""
        best = max(self.raw.get("intake_max_many_keys", 0), self.raw.get("intake_max", 0))
        return int(max(5, min(ceiling, best * fraction)))

    def figure(self, *args, **kwargs) -> Figure:
        figure = Figure(*args, **kwargs)
        if self.plan.quick and figure.verdict in ("met", "missed") and not figure.name.startswith("memory"):
            # A memory reading is a level; a latency, a rate or a burst is a tail of one short run.
            figure.verdict = NOT_JUDGED
            figure.caveat = "--quick runs each phase once and briefly; a full run judges it"
        self.figures.append(figure)
        say(f"  => {figure.name}: {figure.value}  floor {figure.floor}  ({figure.verdict})")
        return figure

    def sample_memory(self) -> dict:
        _master, workers = self.stack.web_pids()
        main, children = self.stack.worker_pids()
        return {
            "web": [rss_mb(pid) or 0 for pid in workers],
            "worker_main": rss_mb(main) or 0,
            "worker_children": [rss_mb(pid) or 0 for pid in children],
        }

    # -- the measurements

    def floors_and_intake(self) -> None:
        plan = self.plan
        label = "PostgreSQL" if self.kind == "production" else "embedded (SQLite)"
        say(f"\n[{self.kind}] floor: insert-and-commit Flask view, gunicorn {' '.join(GUNICORN_OPTIONS)}")
        self.floor.start_web("bench.floor_app:app")
        floor_max, floor_runs = self.max_rate(lambda rate: self.intake_probe(rate, path="/floor"), start=200)
        low = self.plan.voice_rate
        floor_pids = [*self.floor.web_pids()[1], self.floor.web_pids()[0]]
        pids = [*floor_pids, *self.db.postgres_pids()]
        spent_before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
        floor_low = self.intake_probe(low, seconds=plan.phase_seconds / 2, path="/floor", warmup=False)
        pids = sorted(set(pids) | set(self.db.postgres_pids()))
        # CPU of the floor view (gunicorn + PostgreSQL) per request: half of the CPU floor per lead.
        spent = sum(cpu_seconds(pid) or 0.0 for pid in pids) - spent_before
        self.raw["floor_cpu_web_ms"] = spent / max(1, len(floor_low.latencies)) * 1000
        say(f"    floor at {low}/s (for the webhook): " + floor_low.summary())
        # The memory floor: a worker of the same gunicorn that has served the floor view.
        self.raw["memory_floor_web"] = max((rss_mb(pid) or 0 for pid in self.floor.web_pids()[1]), default=0)
        self.raw["floor_low"] = f"at {low}/s: p50 {ms(floor_low.pct(0.5))}, p99 {ms(floor_low.pct(0.99))}"
        self.raw["floor_low_p50"], self.raw["floor_low_p99"] = floor_low.pct(0.5), floor_low.pct(0.99)
        # The floor app stays up (idle) beside the app: later phases rerun it at their own rates.

        say(f"\n[{self.kind}] intake API max sustained rate (p99 <= 50 ms), Celery workers stopped")
        self.stack.start_web()
        self.raw["memory_web_cold"] = [rss_mb(pid) for pid in self.stack.web_pids()[1]]
        open_loop(self.stack.base_url, constant_rate(self.traffic.intake(100), 50), label_rate=50, seconds=2)
        say("  one partner key (every request of a partner carries the same key)")
        self.traffic.keys_in_use = 1
        app_max, app_runs = self.max_rate(lambda rate: self.intake_probe(rate), start=25)
        diagnostic = None
        if self.kind == "production":
            say(f"  {KEYS} partner keys in rotation (diagnostic: spreads the per-key row lock)")
            self.traffic.keys_in_use = KEYS
            many_max, many_runs = self.max_rate(lambda rate: self.intake_probe(rate), start=50)
            self.raw["intake_max_many_keys"] = many_max
            diagnostic = Figure(
                f"intake API, PostgreSQL, {KEYS} partner keys in rotation (diagnostic)",
                f"{many_max:.0f} req/s",
                f"{floor_max:.0f} req/s",
                f"{many_max / floor_max:.0%}" if floor_max else "-",
                "(not a target: shows the per-key lock's cost)",
                "info",
                f"at max: {self.runs_summary(many_runs)}",
            )
            self.traffic.keys_in_use = 1
        ratio = app_max / floor_max if floor_max else 0
        self.raw["intake_max"] = app_max
        self.raw["floor_max"] = floor_max
        detail = f"app at max: {self.runs_summary(app_runs)}; floor at max: {self.runs_summary(floor_runs)}"
        if self.kind == "production":
            self.judged_figure(
                f"intake API, {label}, one partner key: max sustained req/s with p99 <= 50 ms",
                f"{app_max:.0f} req/s",
                f"{floor_max:.0f} req/s",
                f"{ratio:.0%}",
                ">= 50% of the floor",
                ratio >= 0.5,
                detail,
                app_runs,
            )
        else:
            self.judged_figure(
                "intake API on the embedded default (SQLite + SQLAlchemy broker): max sustained req/s, "
                "p99 <= 50 ms",
                f"{app_max:.0f} req/s",
                f"{floor_max:.0f} req/s",
                f"{ratio:.0%}",
                ">= 300 req/s",
                app_max >= 300,
                detail,
                app_runs,
            )
        if diagnostic is not None:
            self.figures.append(diagnostic)
            say(f"  => {diagnostic.name}: {diagnostic.value}")
        work = statements_per_lead(self.db)
        self.raw["statements_per_lead"] = work
        self.notes.append(
            "one lead in-process, single-threaded, no HTTP (median of 30): intake "
            f"{work['intake']['statements']:.0f} SQL statements, {work['intake']['ms']:.1f} ms; routing "
            f"{work['routing']['statements']:.0f} statements, {work['routing']['ms']:.1f} ms"
        )
        say("  " + self.notes[-1])
        purge_routing_queue(self.broker_url)
        with self.db.app.app_context():
            from leadrouter import jobs

            # The purged message's waiting mark would hold back the next lead's for 10 s.
            jobs.started("routing.route_lead")
        self.db.reset(capacity=100_000)

    def max_rate(self, probe, *, start: float) -> tuple[float, list[LoadResult]]:
        """The search (single probes), then the best rate confirmed by the median of plan.repetitions."""
        best, history = search_max_rate(probe, start=start, limit_p99=0.050, steps=self.plan.bisect_steps)
        if self.plan.repetitions <= 1 or best <= 0:
            # Nothing sustained: the last probe is the evidence of why.
            at_best = [result for result in history if result.rate == best][-1:] or history[-1:]
            return best, at_best
        return confirm_rate(probe, best, limit_p99=0.050, runs=self.plan.repetitions)

    @staticmethod
    def runs_summary(results: list[LoadResult]) -> str:
        if not results:
            return "-"
        p50 = Spread.of([result.pct(0.5) for result in results]).show(ms)
        p99 = Spread.of([result.pct(0.99) for result in results]).show(ms)
        requests = sum(len(result.latencies) for result in results)
        return f"p50 {p50}, p99 {p99}, {requests:,} requests; last run: {results[-1].summary()}"

    def with_workers(self) -> None:
        """Everything measured with the Celery worker routing: floors on the broker, then the app."""
        plan = self.plan
        rate = plan.assign_rate if self.kind == "production" else plan.embedded_assign_rate
        self.stack.start_worker()
        time.sleep(2)
        self.raw["memory_start"] = self.sample_memory()

        # Intake at 10/s, 50/s and half the max sustained rate, with routing running, each
        # beside the floor at the same rate.
        half = max(10, round(self.raw["intake_max"] / 2))
        for intake_rate in sorted({10, 50, half}):
            self.intake_latency(intake_rate, half)

        # Lead created -> assigned: at the target's rate, then at a rate the intake sustains.
        # Beside it, the no-op task floor: published at the same rate the leads arrive, on the
        # same broker, its own worker alone on it (the app's worker would poll the same store).
        self.stack.stop_worker()
        say(f"\n[{self.kind}] floor: no-op Celery task, publish -> run, {rate}/s")
        noop = self.noop_floor(rate, plan.phase_seconds)
        self.stack.start_worker()
        time.sleep(2)
        self.assign_phase(rate, noop, headline=True)
        gentle = self.comfortable(0.2, rate)  # well inside what 2 cores can intake and route
        if gentle < rate:
            self.assign_phase(gentle, noop, headline=False)

        # /twilio/voice, signed, beside the floor at the same rate.
        say(f"\n[{self.kind}] POST /twilio/voice, signed, {plan.voice_rate}/s, beside the floor")
        warm = self.traffic.voice(plan.voice_rate)
        open_loop(
            self.stack.base_url, constant_rate(warm, plan.voice_rate), label_rate=plan.voice_rate, seconds=1
        )
        results, floors = self.paired_runs(plan.voice_rate, self.traffic.voice)
        p99s = [result.pct(0.99) for result in results]
        worst = max(result.max for result in results)
        self.raw["voice"] = {
            "rate": plan.voice_rate,
            "p50": Spread.of([r.pct(0.5) for r in results]).median,
            "p99": Spread.of(p99s).median,
            "floor_p50": Spread.of([r.pct(0.5) for r in floors]).median,
            "floor_p99": Spread.of([r.pct(0.99) for r in floors]).median,
        }
        ok = Spread.of(p99s).median <= 0.020 and worst <= 1.0 and not any(r.errors for r in results)
        self.judged_figure(
            f"/twilio/voice signed ({'PostgreSQL' if self.kind == 'production' else 'embedded'}), "
            f"{plan.voice_rate} calls/s",
            f"p50 {Spread.of([r.pct(0.5) for r in results]).show(ms)}, p99 {Spread.of(p99s).show(ms)}, "
            f"max {ms(worst)}",
            f"insert+commit floor beside it: {self.runs_summary(floors).split('; last run')[0]}",
            "-",
            "p99 <= 20 ms in every run; none over 1 s",
            ok and max(p99s) <= 0.020,
            self.runs_summary(results),
            results,
        )
        self.db.wait_routed(datetime.now(UTC) - timedelta(minutes=10), timeout=60)

        if self.kind == "production":
            self.burst()
            self.cpu_per_lead()
            if self.args.profile:
                self.profile()
            self.soak()
        self.scrape_metrics()
        self.stack.stop_worker()
        self.stack.stop_web()
        self.floor.stop_web()

    def intake_latency(self, rate: int, half: int) -> None:
        """Intake p50/p99 at one rate, one key, the workers routing; the floor rerun beside it."""
        label = f"{rate}/s" + (" (half the max)" if rate == half else "")
        say(f"\n[{self.kind}] intake at {label}, one key, workers routing every lead, beside the floor")
        self.traffic.keys_in_use = 1
        since = datetime.now(UTC)
        results, floors = self.paired_runs(rate, self.traffic.intake)
        self.traffic.keys_in_use = KEYS
        waited = self.db.wait_routed(since, timeout=120)
        say(f"    routing backlog drained {waited:.1f} s after the load stopped")
        pooled = sorted(latency for result in results for latency in result.latencies)
        floor_pooled = sorted(latency for result in floors for latency in result.latencies)
        p50, p99 = percentile(pooled, 0.5), percentile(pooled, 0.99)
        floor_p50 = percentile(floor_pooled, 0.5)
        ratio = p50 / floor_p50 if floor_p50 else float("inf")
        ok = ratio <= 2 and p99 <= 0.025 and not any(result.errors for result in results)
        self.raw.setdefault("intake_latency", {})[str(rate)] = {
            "p50": p50,
            "p99": p99,
            "floor_p50": floor_p50,
            "floor_p99": percentile(floor_pooled, 0.99),
        }
        figure = (
            f"intake latency at {label}, one key (workers routing)",
            f"p50 {ms(p50)}, p99 {ms(p99)} (runs pooled); per run p99 "
            f"{Spread.of([r.pct(0.99) for r in results]).show(ms)}",
            f"p50 {ms(floor_p50)}, p99 {ms(percentile(floor_pooled, 0.99))} (floor beside it)",
            f"{ratio:.1f}x (p50)",
        )
        note = f"{self.runs_summary(results)}; routing backlog drained {waited:.1f} s after"
        if self.kind == "production":
            self.judged_figure(*figure, "p50 <= 2x floor p50, p99 <= 25 ms", ok, note, results)
        else:
            self.figure(f"embedded {figure[0]}", *figure[1:], "(reported)", "info", note)

    def assign_phase(self, rate: int, noop: list[float], *, headline: bool) -> None:
        """Leads sent at `rate`; created -> assigned read from the database, next to the no-op task."""
        plan = self.plan
        say(f"\n[{self.kind}] lead created -> advisor assigned at {rate} leads/s")
        self.db.reset(capacity=100_000)
        since = datetime.now(UTC)
        result = self.intake_probe(rate, seconds=plan.phase_seconds, warmup=False)
        say("    " + result.summary())
        waited = self.db.wait_routed(since, timeout=180)
        rows = self.db.leads_since(since)
        created_to_assigned = sorted(
            (row.assigned_at - row.created_at).total_seconds() for row in rows if row.assigned_at is not None
        )
        sent_to_assigned = sorted(
            row.assigned_at.timestamp() - result.intended_wall[row.phone]
            for row in rows
            if row.assigned_at is not None and row.phone in result.intended_wall
        )
        unassigned = sum(1 for row in rows if row.assigned_at is None)
        assigned_times = sorted(row.assigned_at.timestamp() for row in rows if row.assigned_at is not None)
        created_times = sorted(row.created_at.timestamp() for row in rows)
        routed_rate = (
            len(assigned_times) / max(0.001, assigned_times[-1] - created_times[0]) if assigned_times else 0.0
        )
        p50, p99 = percentile(created_to_assigned, 0.5), percentile(created_to_assigned, 0.99)
        noop_p50, noop_p99 = (percentile(noop, 0.5), percentile(noop, 0.99)) if noop else (None, None)
        ratio = p50 / noop_p50 if noop_p50 else None
        self.raw.setdefault("assign", {})[str(rate)] = {
            "p50": p50,
            "p99": p99,
            "assigned": len(created_to_assigned),
            "unassigned": unassigned,
            "seconds": plan.phase_seconds,
            "routed_rate": routed_rate,
            "headline": headline,
        }
        ok = None
        if self.kind == "production" and headline:
            ok = p50 <= 0.050 and p99 <= 0.250 and unassigned == 0
        self.figure(
            f"lead created -> advisor assigned at {rate} leads/s "
            f"({'PostgreSQL + Redis' if self.kind == 'production' else 'embedded'})"
            + ("" if headline else ", a rate the intake sustains (diagnostic)"),
            f"p50 {ms(p50)}, p99 {ms(p99)}",
            f"no-op task p50 {ms(noop_p50)}, p99 {ms(noop_p99)}",
            f"{ratio:.1f}x (p50)" if ratio else "-",
            "p50 <= 50 ms, p99 <= 250 ms" if ok is not None else "(reported)",
            verdict(ok) if ok is not None else "info",
            f"{len(created_to_assigned)} assigned, {unassigned} not; client-intended send -> assigned p50 "
            f"{ms(percentile(sent_to_assigned, 0.5))}, p99 {ms(percentile(sent_to_assigned, 0.99))}; "
            f"intake at {rate}/s: {result.summary()}; last lead routed {waited:.1f} s after the load; "
            f"routing kept pace at {routed_rate:.0f} leads/s (first created -> last assigned)",
        )

    def noop_floor(self, rate: float, seconds: float) -> list[float]:
        from celery import Celery

        from leadrouter.extensions import celery_settings

        out = Path(self.env["BENCH_FLOOR_OUT"])
        out.unlink(missing_ok=True)
        self.stack.start_worker(app="bench.floor_tasks", queues="bench")
        time.sleep(2)
        main, children = self.stack.worker_pids(floor=True)
        pids = [main, *children, *([self.redis_pid] if getattr(self, "redis_pid", None) else [])]
        spent_before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
        publisher = Celery("bench_publisher")
        publisher.config_from_object(celery_settings({"CELERY_BROKER_URL": self.broker_url}))
        count = int(rate * seconds)
        lines: list[str] = []
        try:
            for index in range(-int(rate), count):  # the first second warms up, not counted
                publisher.send_task("bench.noop", args=[time.time()], queue="bench")
                if index < 0:
                    time.sleep(1 / rate)
                    continue
                if index == 0:
                    t0 = time.monotonic()
                delay = t0 + (index + 1) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                lines = out.read_text().splitlines() if out.exists() else []
                if len(lines) >= count + int(rate):
                    break
                time.sleep(0.25)
            # CPU of the worker (and Redis) per no-op task: the other half of the CPU floor per lead.
            spent = sum(cpu_seconds(pid) or 0.0 for pid in pids) - spent_before
            self.raw["floor_cpu_task_ms"] = spent / max(1, len(lines)) * 1000
            # The Celery memory floor: a pool process that has run tasks, on the same settings.
            self.raw["memory_floor_task"] = max((rss_mb(pid) or 0 for pid in children), default=0)
        finally:
            publisher.close()
            self.stack.stop_worker(floor=True)
        samples = [float(b) - float(a) for a, b in (line.split("\t") for line in lines)]
        samples = samples[int(rate) :]
        say(
            f"    no-op publish -> run: p50 {ms(percentile(samples, 0.5))} p99 "
            f"{ms(percentile(samples, 0.99))} "
            f"({len(samples)} of {count})"
        )
        return samples
