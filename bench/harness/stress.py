"""The phases that push a running pass: a burst, CPU per lead, the soak, the metrics scrape, a profile."""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from bench.harness.common import BIN, KEYS, say, verdict
from bench.harness.load import constant_rate, open_loop
from bench.harness.processes import cpu_seconds, memory_mb
from bench.harness.profiles import summarise_profile
from bench.harness.stack import library_import_rss, memory_floor, memory_ratio


class StressPhases:
    """Mixed into Pass: uses its stack, plan, figures and processes."""

    def burst(self) -> None:
        plan = self.plan
        capacity = int(plan.burst_leads * 1.2 / 200) + 1
        say(
            f"\n[{self.kind}] burst: {plan.burst_leads} leads within {plan.burst_seconds:.0f} s; "
            f"200 advisors x capacity {capacity}"
        )
        self.db.reset(capacity=capacity)
        rate = plan.burst_leads / plan.burst_seconds
        since = datetime.now(UTC)
        requests = self.traffic.intake(plan.burst_leads)
        result = open_loop(
            self.stack.base_url,
            constant_rate(requests, rate),
            label_rate=rate,
            seconds=plan.burst_seconds,
            timeout=60,
            abort_behind=None,
        )
        say("    " + result.summary())
        waited = self.db.wait_routed(since, timeout=120)
        rows = self.db.leads_since(since)
        assigned = [row.assigned_at.timestamp() for row in rows if row.assigned_at is not None]
        queued = sum(1 for row in rows if row.status == "queued")
        all_within = (max(assigned) - result.started_wall) if assigned else float("inf")
        checks = self.db.burst_checks(since)
        ok = (
            len(assigned) == plan.burst_leads
            and all_within <= 40
            and checks["double_assigned"] == 0
            and checks["over_capacity"] == 0
        )
        last_accepted = result.finished_wall - result.started_wall
        self.raw["burst"] = {
            "leads": plan.burst_leads,
            "send_seconds": plan.burst_seconds,
            "assigned": len(assigned),
            "all_within": all_within,
        }
        self.figure(
            f"burst: {plan.burst_leads:,} leads sent within {plan.burst_seconds:.0f} s",
            f"{len(assigned):,} assigned, last {all_within:.1f} s after the first was sent; "
            f"{checks['double_assigned']} double, {checks['over_capacity']} over capacity",
            "-",
            "-",
            "all assigned within 40 s; 0 double; 0 over capacity",
            verdict(ok),
            f"{queued} queued, {len(rows) - len(assigned) - queued} other; intake: {result.summary()}; "
            f"last response {last_accepted:.1f} s after the first send; advisor counters over capacity: "
            f"{checks['counter_over_capacity']}; routing drained {waited:.1f} s after the last response",
        )

    def cpu_per_lead(self) -> None:
        """CPU per lead at 30 and 100 leads/s: routing one lead at a time, and in batches under load."""
        for rate in (30, 100):
            self.cpu_per_lead_at(rate)

    def floor_cpu_at(self, rate: int, count: int) -> float:
        """The floor view's CPU (its gunicorn + PostgreSQL) per request at `rate`, measured now."""
        master, workers = self.floor.web_pids()
        pids = [master, *workers, *self.db.postgres_pids()]
        before = {pid: cpu_seconds(pid) or 0.0 for pid in pids}
        result = self.intake_probe(rate, seconds=count / rate, path="/floor", warmup=False)
        pids = sorted(set(pids) | set(self.db.postgres_pids()))
        spent = sum((cpu_seconds(pid) or 0.0) - before.get(pid, 0.0) for pid in pids)
        return spent / max(1, len(result.latencies)) * 1000

    def cpu_per_lead_at(self, rate: int) -> None:
        plan = self.plan
        count = min(plan.cpu_leads, int(rate * plan.phase_seconds * 1.5))
        # The web half of the floor, rerun beside this phase at its rate (the floor app is still up).
        self.raw["floor_cpu_web_ms"] = self.floor_cpu_at(rate, count)
        say(f"\n[{self.kind}] CPU per lead: {count} leads at {rate}/s, intake + routing to assigned")
        self.db.reset(capacity=100_000)
        web_master, web_workers = self.stack.web_pids()
        worker_main, worker_children = self.stack.worker_pids()
        groups = {
            "gunicorn": [web_master, *web_workers],
            "celery": [worker_main, *worker_children],
            "postgres": self.db.postgres_pids(),
            "redis": [self.redis_pid] if getattr(self, "redis_pid", None) else [],
        }
        before = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}
        since = datetime.now(UTC)
        requests = self.traffic.intake(count)
        result = open_loop(
            self.stack.base_url,
            constant_rate(requests, rate),
            label_rate=rate,
            seconds=count / rate,
            abort_behind=None,
            timeout=60,
        )
        self.db.wait_routed(since, timeout=120)
        time.sleep(1)
        groups["postgres"] = sorted(set(groups["postgres"]) | set(self.db.postgres_pids()))
        spent = {}
        for name, pids in groups.items():
            total = 0.0
            for pid in pids:
                now_cpu = cpu_seconds(pid)
                if now_cpu is None:
                    continue
                total += now_cpu - (before[name].get(pid) or 0.0)
            spent[name] = total
        leads = sum(1 for row in self.db.leads_since(since) if row.assigned_at is not None)
        per_lead = sum(spent.values()) / max(1, leads) * 1000
        breakdown = ", ".join(
            f"{name} {seconds / max(1, leads) * 1000:.2f}" for name, seconds in spent.items()
        )
        floor_web, floor_task = self.raw.get("floor_cpu_web_ms"), self.raw.get("floor_cpu_task_ms")
        floor = (floor_web or 0.0) + (floor_task or 0.0) if floor_web and floor_task else None
        self.raw.setdefault("cpu_per_lead", {})[str(rate)] = {
            "leads": leads,
            "per_lead_ms": per_lead,
            "breakdown_ms": {name: seconds / max(1, leads) * 1000 for name, seconds in spent.items()},
            "floor_web_ms": floor_web,
            "floor_task_ms": floor_task,
            "client_ms": result.client_cpu / max(1, leads) * 1000,
        }
        self.figure(
            f"CPU per lead at {rate} leads/s, end to end (intake + routing; gunicorn + Celery + PostgreSQL "
            "+ Redis)",
            f"{per_lead:.2f} CPU-ms",
            (
                f"{floor:.2f} CPU-ms (insert+commit view {floor_web:.2f} + no-op task {floor_task:.2f})"
                if floor
                else "-"
            ),
            f"{per_lead / floor:.1f}x" if floor else "-",
            "<= 2x the floor",
            verdict(per_lead <= 2 * floor if floor else None),
            f"{leads} leads assigned (sent at {rate}/s, {KEYS} keys); per lead (ms): {breakdown}; load "
            "generator "
            f"{result.client_cpu / max(1, leads) * 1000:.2f} ms per lead (not counted); intake: "
            f"{result.summary()}",
        )

    def soak(self) -> None:
        plan = self.plan
        rate = self.comfortable(0.3, 40)
        calls = max(1, round(rate / 8))
        say(
            f"\n[{self.kind}] soak: {plan.soak_seconds:.0f} s of {rate} leads/s + {calls} calls/s, memory "
            "sampled"
        )
        self.db.reset(capacity=100_000)
        start = self.sample_memory()
        samples = [(0.0, start)]
        stop = threading.Event()
        began = time.monotonic()

        def sampler():
            while not stop.wait(10):
                samples.append((time.monotonic() - began, self.sample_memory()))

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        schedule = [(i / rate, r) for i, r in enumerate(self.traffic.intake(int(rate * plan.soak_seconds)))]
        schedule += [(i / calls, r) for i, r in enumerate(self.traffic.voice(int(calls * plan.soak_seconds)))]
        schedule.sort(key=lambda item: item[0])
        result = open_loop(
            self.stack.base_url,
            schedule,
            label_rate=rate + calls,
            seconds=plan.soak_seconds,
            abort_behind=None,
            timeout=60,
        )
        self.db.wait_routed(datetime.now(UTC) - timedelta(seconds=plan.soak_seconds + 60), timeout=60)
        stop.set()
        thread.join()
        end = self.sample_memory()
        samples.append((time.monotonic() - began, end))
        say("    " + result.summary())
        mid = min(samples, key=lambda item: abs(item[0] - plan.soak_seconds / 2))[1]
        first = self.raw["memory_start"]

        def worst(memory, key):
            values = memory[key] if isinstance(memory[key], list) else [memory[key]]
            return max(values) if values else 0.0

        web_start, web_mid, web_end = worst(start, "web"), worst(mid, "web"), worst(end, "web")
        cel_start, cel_mid, cel_end = (worst(m, "worker_children") for m in (start, mid, end))
        cel_main = end["worker_main"]
        web_growth, cel_growth = web_end - web_mid, cel_end - cel_mid
        flat = web_growth <= 2.0 and cel_growth <= 2.0
        self.raw["memory_samples"] = [(round(t), m) for t, m in samples]
        web = [m for m in (memory_mb(pid) for pid in self.stack.web_pids()[1]) if m]
        web_pss = max((m["pss"] for m in web), default=0.0)
        self.figure(
            "memory PSS, gunicorn worker (largest of 2)",
            f"PSS {web_pss:.0f} MB after {plan.soak_seconds:.0f} s; "
            + "; ".join(f"RSS {m['rss']:.0f} / PSS {m['pss']:.0f} / USS {m['uss']:.0f} MB" for m in web),
            memory_floor(self.raw.get("memory_floor_web"), "insert+commit view's worker, RSS"),
            memory_ratio(web_end, self.raw.get("memory_floor_web")),
            "<= 80 MB PSS; no growth",
            verdict(0 < web_pss <= 80 and web_growth <= 2.0),
            f"RSS {web_start:.0f} MB before the soak -> {web_end:.0f} MB after; cold (before any request) "
            f"{max(self.raw.get('memory_web_cold') or [0]):.0f} MB; growth over the second half of the soak "
            f"{web_growth:+.1f} MB (RSS); PSS shares each page among the processes holding it, USS is "
            "what the worker alone holds",
        )
        self.figure(
            "memory RSS, Celery worker (largest pool process)",
            f"{cel_start:.0f} MB before the soak -> {cel_end:.0f} MB after {plan.soak_seconds:.0f} s",
            memory_floor(self.raw.get("memory_floor_task"), "no-op task's pool process"),
            memory_ratio(cel_end, self.raw.get("memory_floor_task")),
            "<= 120 MB; no growth",
            verdict(cel_end <= 120 and cel_growth <= 2.0),
            "; ".join(
                f"pool process RSS {m['rss']:.0f} / PSS {m['pss']:.0f} / USS {m['uss']:.0f} MB"
                for m in (memory_mb(pid) for pid in self.stack.worker_pids()[1])
                if m
            )
            + f"; pool process just after start {max(first['worker_children'] or [0]):.0f} MB; main process "
            f"{first['worker_main']:.0f} -> {cel_main:.0f} MB; growth over the second half "
            f"{cel_growth:+.1f} MB; soak load: {result.summary()}",
        )
        self.notes.append(
            f"soak memory flat (<= 2 MB growth over its second half): {'yes' if flat else 'no'}"
        )
        libraries = library_import_rss()
        self.raw["memory_pss_web"] = web_pss
        self.raw["memory_libraries_mb"] = float(libraries.split()[0])
        self.notes.append("memory of the libraries alone: " + libraries)

    def scrape_metrics(self) -> None:
        try:
            body = urllib.request.urlopen(self.stack.base_url + "/metrics", timeout=10).read().decode()  # noqa: S310
        except OSError as error:
            self.notes.append(f"/metrics scrape failed: {error}")
            return
        wanted = re.findall(
            r'^(leadrouter_leads_created_total\{source="api"\}|leadrouter_assignment_latency_seconds_count'
            r"|leadrouter_queue_depth|leadrouter_sla_breaches) (\S+)$",
            body,
            re.M,
        )
        self.notes.append(
            "GET /metrics on the running stack (PROMETHEUS_MULTIPROC_DIR shared by gunicorn and Celery): "
            + ", ".join(f"{name} = {float(value):,.0f}" for name, value in wanted)
        )

    def profile(self) -> None:
        """Sample a gunicorn worker under intake load and a Celery pool process under routing load."""
        pyspy = BIN / "py-spy"
        if not pyspy.exists():
            self.notes.append("profile skipped: py-spy is not installed in the venv")
            return
        out = self.work / "profiles"
        out.mkdir(exist_ok=True)
        seconds = min(12, self.plan.phase_seconds)
        near_max = max(5, round(self.raw["intake_max"] * 0.8))
        busy = self.comfortable(0.6, 200)
        web = self.stack.web_pids()[1][0]
        pool = self.stack.worker_pids()[1][0]
        targets = [
            ("gunicorn worker, one partner key, wall clock", web, near_max, 1, True, "wsgi_app"),
            (f"gunicorn worker, {KEYS} keys, GIL held (CPU)", web, busy, KEYS, False, "wsgi_app"),
            ("Celery pool process, wall clock", pool, busy, KEYS, True, "FlaskTask.__call__"),
            ("Celery pool process, GIL held (CPU)", pool, busy, KEYS, False, "FlaskTask.__call__"),
        ]
        for label, pid, rate, keys, idle, inside in targets:
            self.db.reset(capacity=100_000)
            raw_file = out / (re.sub(r"[^a-z0-9]+", "-", label.lower()) + ".txt")
            say(f"\n[{self.kind}] profile: {label} (pid {pid}) at {rate} leads/s for {seconds:.0f} s")
            command = [str(pyspy), "record", "-p", str(pid), "-d", str(int(seconds) + 1), "-r", "200"]
            command += ["-f", "raw", "--nonblocking", "-o", str(raw_file)] + (
                ["--idle"] if idle else ["--gil"]
            )
            recorder = self.processes.start("py-spy", command, dict(os.environ))
            self.traffic.keys_in_use = keys
            since = datetime.now(UTC)
            self.intake_probe(rate, seconds=seconds, warmup=False)
            self.traffic.keys_in_use = KEYS
            recorder.wait(timeout=60)
            self.processes.stop("py-spy")
            self.db.wait_routed(since, timeout=120)
            if raw_file.exists():
                summary = summarise_profile(raw_file, inside)
                summary["rate"] = rate
                self.raw.setdefault("profiles", {})[label] = summary
