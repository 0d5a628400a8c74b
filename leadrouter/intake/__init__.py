"""Intake: every way a lead comes in (the helpline page and its form, the partner API, calls, texts)."""
