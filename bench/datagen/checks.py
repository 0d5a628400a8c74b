"""Consistency checks on a loaded database: the app's invariants, each as one SQL query.

Every check counts violating rows; the run fails if any count is not zero. The queries
state the app's rules, not the generator's, so they hold for data the app wrote itself
and can be pointed at any leadrouter PostgreSQL database (--check-only).
"""

from __future__ import annotations

import time

import psycopg

from leadrouter.models.lead import OPEN_STATUSES, URGENCY_RANK

_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
_RANK = " ".join(f"WHEN '{urgency}' THEN {rank}" for urgency, rank in URGENCY_RANK.items())
_NOTHING_DUE = "'9999-12-31 00:00:00+00'::timestamptz"


def _sql(text: str) -> str:
    return " ".join(text.split())


CHECKS: list[tuple[str, str]] = [
    (
        "advisors.open_leads = open leads they own",
        """SELECT count(*) FROM advisors a WHERE a.open_leads <>
           (SELECT count(*) FROM leads l WHERE l.owner_id = a.id AND l.is_open)""",
    ),
    # The f-strings below only interpolate constants derived from leadrouter.models.lead.
    ("is_open matches status", f"SELECT count(*) FROM leads WHERE is_open <> (status IN ({_OPEN}))"),  # noqa: S608
    (
        "urgency_rank matches urgency",
        f"SELECT count(*) FROM leads WHERE urgency_rank <> CASE urgency {_RANK} END",  # noqa: S608
    ),
    (
        "at most one current assignment per lead",
        """SELECT count(*) FROM (SELECT lead_id FROM assignments WHERE ended_at IS NULL
           GROUP BY lead_id HAVING count(*) > 1) x""",
    ),
    (
        "open owned lead has a current assignment to its owner",
        """SELECT count(*) FROM leads l WHERE l.is_open AND l.owner_id IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM assignments a
            WHERE a.lead_id = l.id AND a.ended_at IS NULL AND a.advisor_id = l.owner_id)""",
    ),
    (
        "current assignment only on an open lead of that owner",
        """SELECT count(*) FROM assignments a JOIN leads l ON l.id = a.lead_id
           WHERE a.ended_at IS NULL AND (NOT l.is_open OR l.owner_id IS DISTINCT FROM a.advisor_id)""",
    ),
    (
        "owner is the advisor of the newest assignment; unowned leads have none",
        """SELECT count(*) FROM leads l LEFT JOIN
           (SELECT DISTINCT ON (lead_id) lead_id, advisor_id FROM assignments
            ORDER BY lead_id, started_at DESC, id DESC) last ON last.lead_id = l.id
           WHERE l.owner_id IS DISTINCT FROM last.advisor_id""",
    ),
    (
        "status vs owner: new/queued unowned, assigned..assessment owned",
        """SELECT count(*) FROM leads
           WHERE (status IN ('new', 'queued') AND owner_id IS NOT NULL)
              OR (status IN ('assigned', 'contacted', 'assessment') AND owner_id IS NULL)""",
    ),
    (
        "queued lead has queued_at; routing clears it on assignment (a manager's reassignment does not)",
        """SELECT count(*) FROM leads l
           WHERE (l.status = 'queued' AND l.queued_at IS NULL)
              OR (l.owner_id IS NOT NULL AND l.assigned_at IS NULL)
              OR (l.owner_id IS NOT NULL AND l.queued_at IS NOT NULL
                  AND l.id NOT IN (SELECT lead_id FROM routing_decisions WHERE rule = 'manual'))""",
    ),
    (
        "closed lead has a reason, others none",
        "SELECT count(*) FROM leads WHERE (status = 'closed') <> (closed_reason IS NOT NULL)",
    ),
    (
        "timestamps follow created_at (routed, assigned, queued, first contact, SLA, touched)",
        """SELECT count(*) FROM leads
           WHERE routed_at < created_at OR assigned_at < routed_at OR queued_at < routed_at
              OR first_contact_at < created_at OR sla_due_at < created_at OR updated_at < created_at
              OR last_touch_at < created_at OR escalated_at < assigned_at
              OR (owner_id IS NOT NULL AND routed_at IS NULL)""",
    ),
    (
        "SLA set exactly when the lead was assigned by routing",
        """SELECT count(*) FROM leads l
           LEFT JOIN (SELECT DISTINCT lead_id FROM assignments WHERE actor = 'system') a ON a.lead_id = l.id
           WHERE (l.sla_due_at IS NOT NULL) <> (a.lead_id IS NOT NULL)""",
    ),
    (
        "critical lead never reassigned is due 5 minutes after creation",
        """SELECT count(*) FROM leads WHERE urgency = 'critical' AND reassignment_count = 0
           AND sla_due_at IS NOT NULL AND sla_due_at <> created_at + interval '5 minutes'""",
    ),
    (
        "reassignment_count = SLA reassignments",
        """SELECT count(*) FROM leads l
           LEFT JOIN (SELECT lead_id, count(*) AS n FROM routing_decisions WHERE trigger = 'sla'
                      GROUP BY lead_id) d ON d.lead_id = l.id
           WHERE l.reassignment_count <> coalesce(d.n, 0)""",
    ),
    (
        "next_due_at: nothing due unless open, else the earliest of SLA (if uncontacted) and open follow-ups",
        f"""SELECT count(*) FROM leads l
            LEFT JOIN (SELECT lead_id, min(due_at) AS due FROM follow_ups WHERE status = 'open'
                       GROUP BY lead_id) f ON f.lead_id = l.id
            WHERE l.next_due_at <> CASE WHEN NOT l.is_open THEN {_NOTHING_DUE}
              ELSE coalesce(least(f.due, CASE WHEN l.first_contact_at IS NULL THEN l.sla_due_at END),
                            {_NOTHING_DUE}) END""",  # noqa: S608
    ),
    (
        "contacted or later means a first contact",
        """SELECT count(*) FROM leads WHERE first_contact_at IS NULL
           AND status IN ('contacted', 'assessment', 'referred', 'admitted')""",
    ),
    (
        "assignment periods are ordered and do not overlap",
        """SELECT count(*) FROM (SELECT started_at, ended_at, lead(started_at) OVER w AS next_start
           FROM assignments WINDOW w AS (PARTITION BY lead_id ORDER BY started_at, id)) x
           WHERE ended_at < started_at
              OR (next_start IS NOT NULL AND (ended_at IS NULL OR ended_at > next_start))""",
    ),
    (
        "assignment decision belongs to the same lead and advisor",
        """SELECT count(*) FROM assignments a JOIN routing_decisions d ON d.id = a.decision_id
           WHERE d.lead_id <> a.lead_id OR d.advisor_id IS DISTINCT FROM a.advisor_id
              OR d.outcome <> 'assigned'""",
    ),
    (
        "follow-up status matches completed_at",
        """SELECT count(*) FROM follow_ups
           WHERE (status = 'open') <> (completed_at IS NULL) OR completed_at < created_at""",
    ),
    (
        "a lead out of the pipeline has no open callback",
        """SELECT count(*) FROM follow_ups f JOIN leads l ON l.id = f.lead_id
           WHERE f.status = 'open' AND f.kind = 'callback' AND NOT l.is_open""",
    ),
    (
        "nothing is dated after now() (events, status moves, follow-ups, assignments, calls)",
        """SELECT (SELECT count(*) FROM events WHERE at > now())
                + (SELECT count(*) FROM leads WHERE updated_at > now() OR first_contact_at > now()
                                                 OR escalated_at > now())
                + (SELECT count(*) FROM follow_ups WHERE completed_at > now() OR created_at > now())
                + (SELECT count(*) FROM assignments WHERE ended_at > now())
                + (SELECT count(*) FROM calls WHERE ended_at > now())""",
    ),
    (
        "events never before the lead was created",
        "SELECT count(*) FROM events e JOIN leads l ON l.id = e.lead_id WHERE e.at < l.created_at",
    ),
    (
        "every lead has one created event",
        """SELECT count(*) FROM leads l
           LEFT JOIN (SELECT lead_id, count(*) AS n FROM events WHERE type = 'created'
                      GROUP BY lead_id) e ON e.lead_id = l.id
           WHERE e.n IS DISTINCT FROM 1""",
    ),
    (
        "call and voicemail leads have one call; voicemail leads a recording",
        """SELECT count(*) FROM leads l
           LEFT JOIN (SELECT c.lead_id, count(*) AS calls, count(r.id) AS recordings
                      FROM calls c LEFT JOIN recordings r ON r.call_id = c.id
                      GROUP BY c.lead_id) c ON c.lead_id = l.id
           WHERE (l.source IN ('call', 'voicemail')) <> (c.calls = 1) IS TRUE
              OR (l.source = 'voicemail' AND c.recordings IS DISTINCT FROM 1)""",
    ),
    (
        "no second lead from the same phone within 24 h (intake merges those)",
        """SELECT count(*) FROM (SELECT created_at - lag(created_at)
                                 OVER (PARTITION BY phone ORDER BY created_at) AS gap
                                 FROM leads WHERE phone IS NOT NULL) x
           WHERE gap < interval '24 hours'""",
    ),
    (
        "do-not-contact lead's phone is in contact_preferences",
        """SELECT count(*) FROM leads l WHERE l.do_not_contact AND l.phone IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM contact_preferences p WHERE p.phone = l.phone AND p.do_not_contact)""",
    ),
    (
        "over capacity only through the critical override or a manager's reassignment",
        """SELECT count(*) FROM advisors a WHERE a.open_leads > a.capacity AND NOT EXISTS
           (SELECT 1 FROM leads l JOIN routing_decisions d ON d.lead_id = l.id
            WHERE l.owner_id = a.id AND l.is_open AND d.rule IN ('critical_override', 'manual'))""",
    ),
]

SUMMARY: list[tuple[str, str]] = [
    ("leads by status", "SELECT status, count(*) FROM leads GROUP BY 1 ORDER BY 2 DESC"),
    ("leads by urgency", "SELECT urgency, count(*) FROM leads GROUP BY 1 ORDER BY 2 DESC"),
    ("leads by source", "SELECT source, count(*) FROM leads GROUP BY 1 ORDER BY 2 DESC"),
    (
        "open leads (owned, waiting)",
        """SELECT count(*) FILTER (WHERE owner_id IS NOT NULL), count(*) FILTER (WHERE owner_id IS NULL)
           FROM leads WHERE is_open""",
    ),
    (
        "minutes to first contact by urgency (median, p90)",
        """SELECT urgency,
             round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP
                   (ORDER BY first_contact_at - created_at)) / 60, 1),
             round(extract(epoch FROM percentile_cont(0.9) WITHIN GROUP
                   (ORDER BY first_contact_at - created_at)) / 60, 1)
           FROM leads WHERE first_contact_at IS NOT NULL GROUP BY 1 ORDER BY 1""",
    ),
    (
        "first contact by the SLA of the owner at the time (%)",
        """SELECT round(100.0 * count(*) FILTER (WHERE first_contact_at <= sla_due_at) / count(*), 1)
           FROM leads WHERE sla_due_at IS NOT NULL AND first_contact_at IS NOT NULL""",
    ),
    (
        "routing decisions by rule",
        "SELECT coalesce(rule, '(queued)'), count(*) FROM routing_decisions GROUP BY 1 ORDER BY 2 DESC",
    ),
    (
        "advisor load (min, avg, max open; over capacity)",
        """SELECT min(open_leads), round(avg(open_leads), 1), max(open_leads),
                  count(*) FILTER (WHERE open_leads > capacity) FROM advisors""",
    ),
]


def foreign_key_checks(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """One orphan count per foreign key in the schema, read from the catalog."""
    rows = conn.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
        ORDER BY 1, 2
        """
    ).fetchall()
    # Table and column names come from the catalog, not from input.
    return [
        (
            f"no orphan {child}.{column} -> {parent}.{parent_column}",
            f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS"  # noqa: S608
            f" (SELECT 1 FROM {parent} p WHERE p.{parent_column} = c.{column})",
        )
        for child, column, parent, parent_column in rows
    ]


def count_orphans(conn: psycopg.Connection) -> int:
    """Rows whose foreign key points nowhere, over every foreign key (what the triggers check)."""
    conn.execute("SET work_mem = '256MB'")
    return sum(conn.execute(sql).fetchone()[0] for _, sql in foreign_key_checks(conn))


def run_checks(conn: psycopg.Connection, out=print) -> int:
    """Run every check, print one line each and a summary; return the number of failed checks."""
    failed = 0
    conn.execute("SET work_mem = '256MB'")
    for name, sql in CHECKS + foreign_key_checks(conn):
        started = time.perf_counter()
        violations = conn.execute(_sql(sql)).fetchone()[0]
        failed += violations != 0
        verdict = "ok  " if violations == 0 else "FAIL"
        out(f"  {verdict} {name}: {violations} violations ({time.perf_counter() - started:.1f} s)")
    out("summary:")
    for name, sql in SUMMARY:
        rows = conn.execute(_sql(sql)).fetchall()
        out(f"  {name}: " + ", ".join(" ".join(str(value) for value in row) for row in rows))
    return failed
