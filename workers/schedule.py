"""Every periodic task, in one place."""

from datetime import timedelta


def beat_schedule(config) -> dict:
    """The periodic tasks; the sweep's period comes from ROUTING_SWEEP_SECONDS."""
    return {
        "sweep-unrouted-leads": {
            "task": "routing.sweep_unrouted",
            "schedule": timedelta(seconds=config["ROUTING_SWEEP_SECONDS"]),
        },
        "drain-queue": {"task": "routing.drain_queue", "schedule": timedelta(seconds=20)},
        "enforce-sla": {"task": "routing.enforce_sla", "schedule": timedelta(seconds=60)},
        "resend-stale-texts": {"task": "notify.resend_stale", "schedule": timedelta(seconds=120)},
        # Minutes-old report figures come from the leads themselves, so this only sets how much
        # a report must fold live; a run that overlaps the next is harmless (they serialise).
        "refresh-report-rollups": {"task": "reports.refresh_rollups", "schedule": timedelta(seconds=30)},
    }
