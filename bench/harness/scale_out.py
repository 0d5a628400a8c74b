"""Scale-out: two gunicorn instances and two Celery workers on one PostgreSQL and one Redis.

Proves the tiers need no coordination outside the database and the broker: requests
alternate between two web instances on separate ports, two workers (one on `routing`, one on
every queue) race for the same leads, and afterwards every lead was routed exactly once, no
advisor is over capacity, and both workers did a share. On 2 cores throughput cannot double;
bench/README.md ("Sizing") carries the throughput arithmetic.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from bench.harness.common import ms, percentile, say
from bench.harness.load import constant_rate, open_loop
from bench.harness.processes import free_port
from bench.harness.stack import Stack

QUEUES = {"a": "routing", "b": "routing,notify,default"}


def scale_out(bench_pass) -> None:
    """Run the phase on a pass whose own stack is stopped; add its figure to the pass."""
    plan = bench_pass.plan
    rate = bench_pass.comfortable(0.5, 100)
    say(f"\n[{bench_pass.kind}] scale-out: 2 gunicorn + 2 Celery workers, {rate} leads/s alternating")
    stacks = {
        side: Stack(f"{bench_pass.kind}-{side}", bench_pass.processes, bench_pass.env, free_port())
        for side in QUEUES
    }
    logs = {side: bench_pass.processes.log_dir / f"{stack.name}-worker.log" for side, stack in stacks.items()}
    try:
        for side, stack in stacks.items():
            stack.start_web()
            stack.start_worker(queues=QUEUES[side])
        offsets = {side: _size(log) for side, log in logs.items()}
        bench_pass.db.reset(capacity=100_000)
        since = datetime.now(UTC)
        results = {side: [] for side in stacks}
        for _run in range(plan.repetitions):
            count = int(rate / 2 * plan.phase_seconds)
            requests = {side: bench_pass.traffic.intake(count) for side in stacks}  # made before the threads
            threads = []
            for side, stack in stacks.items():
                arguments = (stack, requests[side], rate / 2, plan, results[side])
                threads.append(threading.Thread(target=_send, args=arguments))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        waited = bench_pass.db.wait_routed(since, timeout=120)
        rows = bench_pass.db.leads_since(since)
        checks = bench_pass.db.burst_checks(since)
        tasks = {side: _succeeded(log, offsets[side]) for side, log in logs.items()}
    finally:
        for stack in stacks.values():
            stack.stop_worker()
            stack.stop_web()
    delays = sorted((r.assigned_at - r.created_at).total_seconds() for r in rows if r.assigned_at is not None)
    served = {side: sum(result.ok for result in results[side]) for side in stacks}
    unassigned = sum(1 for row in rows if row.assigned_at is None)
    total_tasks = sum(tasks.values())
    shares_ok = all(count >= 0.25 * total_tasks for count in tasks.values()) and total_tasks > 0
    ok = unassigned == 0 and checks["double_assigned"] == 0 and checks["over_capacity"] == 0 and shares_ok
    bench_pass.figure(
        "scale-out: 2 gunicorn instances + 2 Celery workers, one PostgreSQL and Redis",
        f"{len(rows):,} leads, {unassigned} unassigned, {checks['double_assigned']} double, "
        f"{checks['over_capacity']} over capacity; created -> assigned p50 {ms(percentile(delays, 0.5))}, "
        f"p99 {ms(percentile(delays, 0.99))}",
        "-",
        "-",
        "every lead routed once; 0 double; 0 over capacity; each worker >= 25% of the routing tasks",
        "met" if ok else "missed",
        f"requests served: web a {served['a']:,}, web b {served['b']:,}; routing tasks run: worker a "
        f"({QUEUES['a']}) {tasks['a']}, worker b ({QUEUES['b']}) {tasks['b']}; {plan.repetitions} runs at "
        f"{rate}/s; routing drained {waited:.1f} s after the load",
    )


def _send(stack, requests, rate: float, plan, into: list) -> None:
    schedule = constant_rate(requests, rate)
    into.append(open_loop(stack.base_url, schedule, label_rate=rate, seconds=plan.phase_seconds))


def _size(path) -> int:
    return path.stat().st_size if path.exists() else 0


def _succeeded(path, offset: int) -> int:
    """Tasks the worker logged as succeeded since `offset` (Celery logs one line per task at INFO)."""
    if not path.exists():
        return 0
    with path.open("rb") as log:
        log.seek(offset)
        return sum(1 for line in log if b" succeeded in " in line)
