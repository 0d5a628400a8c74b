"""Every periodic task, in one place."""

from datetime import timedelta

BEAT_SCHEDULE = {
    "sweep-unrouted-leads": {"task": "routing.sweep_unrouted", "schedule": timedelta(seconds=30)},
    "drain-queue": {"task": "routing.drain_queue", "schedule": timedelta(seconds=20)},
    "enforce-sla": {"task": "routing.enforce_sla", "schedule": timedelta(seconds=60)},
    "resend-stale-texts": {"task": "notify.resend_stale", "schedule": timedelta(seconds=120)},
    # Minutes-old report figures come from the leads themselves, so this only sets how much
    # a report must fold live; a run that overlaps the next is harmless (they serialise).
    "refresh-report-rollups": {"task": "reports.refresh_rollups", "schedule": timedelta(seconds=30)},
}
