"""The words every layer shares, defined once: urgencies, languages, weekdays, the national pool.

Keys only; what people read for them (in English or Spanish) lives with the pages and prompts.
Pure; imports nothing.
"""

from __future__ import annotations

# Most urgent first: the order queues are served in and reports list them in.
URGENCIES = ("critical", "high", "normal", "low")
# Least urgent first: the order a score climbs through.
URGENCY_LEVELS = tuple(reversed(URGENCIES))

# Languages a lead can be served in (pages, calls, texts, advisors).
LANGUAGES = ("en", "es")

# Who the help is for.
FOR_WHOM = ("self", "loved_one")

# Shift and business-hours days, Monday first (as date.weekday() counts them).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# An advisor region that takes leads from every state (and leads with no state).
NATIONAL_POOL = "*"

# The time zone used when neither the lead nor the advisor has one.
DEFAULT_TIMEZONE = "America/New_York"
