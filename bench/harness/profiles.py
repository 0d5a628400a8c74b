"""py-spy profiles, summarised by layer."""

from __future__ import annotations

import collections
import re
from pathlib import Path

# --- profiles --------------------------------------------------------------------------------

LAYERS = (
    ("psycopg", "PostgreSQL driver (psycopg)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("marshmallow", "marshmallow"),
    ("phonenumbers", "phonenumbers"),
    ("kombu", "Celery/kombu/redis"),
    ("celery", "Celery/kombu/redis"),
    ("redis", "Celery/kombu/redis"),
    ("flask_limiter", "flask-limiter/limits"),
    ("limits", "flask-limiter/limits"),
    ("prometheus_client", "prometheus_client"),
    ("flask", "Flask/Werkzeug/gunicorn"),
    ("werkzeug", "Flask/Werkzeug/gunicorn"),
    ("gunicorn", "Flask/Werkzeug/gunicorn"),
    ("logging", "logging"),
    ("json", "json"),
    ("leadrouter", "leadrouter"),
    ("workers", "leadrouter"),
)


def layer_of(frame: str) -> str:
    location = frame[frame.rfind("(") + 1 :]
    for needle, layer in LAYERS:
        if f"/{needle}/" in location or location.startswith(f"{needle}/") or f"{needle}.py" in location:
            return layer
    return "other (stdlib, ssl, sockets)"


def summarise_profile(path: Path, inside: str) -> dict:
    """Self time by layer, the hottest leaf functions and the leadrouter functions with most inclusive time.

    Only samples whose stack passes through `inside` (a request, a task) count.
    """
    self_time: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or inside not in stack:
            continue
        samples = int(count)
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";") if frame]
        frames = [frame for frame in frames if not frame.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += samples
        self_time[layer_of(frames[-1])] += samples
        leaves[frames[-1]] += samples
        for frame in set(frames):
            if frame[frame.rfind("(") + 1 :].startswith(("leadrouter/", "workers/")):
                inclusive[frame] += samples

    def shares(counter: collections.Counter, top: int | None = None) -> list:
        return [(name, count / total) for name, count in counter.most_common(top)] if total else []

    return {
        "samples": total,
        "self_by_layer": shares(self_time),
        "leaves": shares(leaves, 8),
        "leadrouter_inclusive": shares(inclusive, 16),
    }
