"""Every periodic task, in one place."""

from datetime import timedelta

BEAT_SCHEDULE = {
    "sweep-unrouted-leads": {"task": "routing.sweep_unrouted", "schedule": timedelta(seconds=30)},
    "drain-queue": {"task": "routing.drain_queue", "schedule": timedelta(seconds=20)},
    "enforce-sla": {"task": "routing.enforce_sla", "schedule": timedelta(seconds=60)},
    "resend-stale-texts": {"task": "notify.resend_stale", "schedule": timedelta(seconds=120)},
}
