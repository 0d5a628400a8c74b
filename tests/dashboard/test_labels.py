"""Staff pages say every stored key in words, in the page's language; refusals keep their details."""

from __future__ import annotations

import pytest

from leadrouter.dashboard.presenters import LABELS, explain, label
from leadrouter.intake.calls import OUTCOME_RANK
from leadrouter.models import ADVISOR_STATUSES, LEAD_STATUSES
from leadrouter.pipeline.operations import CLOSE_REASONS, CONTACT_OUTCOMES, PipelineError
from leadrouter.routing.region import REGION_SOURCES
from leadrouter.routing.vocabulary import URGENCIES

FOLLOW_UP_STATUSES = ("open", "done", "cancelled")


@pytest.mark.parametrize(
    "keys",
    [
        LEAD_STATUSES,
        ADVISOR_STATUSES,
        URGENCIES,
        CLOSE_REASONS,
        CONTACT_OUTCOMES,
        tuple(OUTCOME_RANK),
        REGION_SOURCES,
        FOLLOW_UP_STATUSES,
    ],
    ids=[
        "lead-status",
        "advisor-status",
        "urgency",
        "close-reason",
        "contact-outcome",
        "call-outcome",
        "region-source",
        "follow-up-status",
    ],
)
def test_every_stored_key_has_words(keys):
    assert [key for key in keys if key not in LABELS] == []


def test_labels_follow_the_page_language(app):
    with app.test_request_context("/dashboard?lang=es"):
        assert label("queued") == "en espera"
        assert label("critical") == "crítica"
        assert label("not_a_key") == "not a key"
    with app.test_request_context("/dashboard"):
        assert label("queued") == "queued"
        assert label("asked_not_to_be_contacted") == "asked not to be contacted"


def test_a_refusal_reads_as_a_sentence_with_its_keys_in_words(app):
    error = PipelineError(
        "status", "cannot move from %(current)s to %(target)s", current="assessment", target="new"
    )
    assert str(error) == "status: cannot move from assessment to new"  # English, for logs
    with app.test_request_context("/dashboard?lang=es"):
        assert explain(error.message, error.params) == "no se puede pasar de evaluación a nuevo"
    choices = PipelineError("outcome", "must be one of %(choices)s", choices=("reached", "no_answer"))
    with app.test_request_context("/dashboard"):
        assert explain(choices.message, choices.params) == "must be one of reached, no answer"


def test_timeline_entries_read_as_sentences_without_keys(app):
    from types import SimpleNamespace

    from leadrouter.dashboard.presenters import actor_label, event_summary, trace_words
    from leadrouter.routing.reassignment import CONCERNS

    def entry(type_, **detail):
        return SimpleNamespace(type=type_, detail=detail)

    with app.test_request_context("/dashboard"):
        assert [concern for concern in CONCERNS if concern not in LABELS] == []
        assert event_summary(entry("call", direction="outbound", outcome="no_answer"), {}, None) == (
            "Call (outbound): no answer"
        )
        assert event_summary(entry("status_changed", to="closed", reason="wrong_number"), {}, None).endswith(
            "closed (wrong number)"
        )
        assert event_summary(entry("created", source="web_form"), {}, None) == "Created from the web form"
        assert actor_label("user:4", {"user:4": "Morgan Reyes"}) == "Morgan Reyes"
        assert actor_label("demo:web_form", {}) == "demo data (Web form)"
        assert actor_label("api_key:2", {}) == "a partner site"
        assert trace_words("Grace Kim: does not speak es; no rule covers normal web_form leads") == (
            "Grace Kim: does not speak Spanish; no rule covers normal web form leads"
        )
    with app.test_request_context("/dashboard?lang=es"):
        assert event_summary(entry("contact_attempt", outcome="reached"), {}, None).startswith(
            "Intento de contacto"
        )
