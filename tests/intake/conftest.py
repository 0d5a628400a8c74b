"""Helpers for the public page tests: read pages as a person would, count what was stored."""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

import leadrouter
from leadrouter.extensions import db
from leadrouter.models import ConsentRecord, Event, Lead

VALID_FORM = {
    "name": "Dana Example",
    "phone": "(512) 206-0142",
    "email": "dana@example.org",
    "for_whom": "loved_one",
    "patient_name": "Sam",
    "state": "TX",
    "zip": "78701",
    "city": "Austin",
    "substances": ["heroin", "fentanyl"],
    "dsm_criteria": ["cravings", "tolerance", "withdrawal"],
    "message": "My son has been using for a year and wants to stop.",
    "language": "en",
    "preferred_time": "evening",
    "voicemail_ok": "y",
    "call_name": "Dee",
    "consent": "y",
    "page_url": "https://helpline.example.org/help/tx/austin?utm_source=google&utm_campaign=tx-spring",
    "referrer": "https://www.google.com/",
    "utm_source": "google",
    "utm_campaign": "tx-spring",
}


# Elements a browser shows on their own line: text on either side of them is not one word.
# fmt: off
_BLOCKS = frozenset({
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "section", "header",
    "footer", "nav", "main", "form", "fieldset", "legend", "label", "summary", "details",
    "option", "select", "textarea", "input", "br", "table", "tr", "td", "th", "button",
})
# fmt: on


class Page(HTMLParser):
    """A parsed page: visible text, elements with their attributes, and labels by target id."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.labels: dict[str, str] = {}
        self.legends: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self._texts: list[str] = []
        self._open: list[tuple[str, dict, list[str]]] = []
        self._hidden_depth = 0
        self.feed(html)
        self.text = " ".join("".join(self._texts).split())

    def handle_starttag(self, tag, attrs):
        attributes = {key: (value or "") for key, value in attrs}
        self.elements.append((tag, attributes))
        if tag in _BLOCKS:
            self._texts.append(" ")
        if tag in ("script", "style", "title") or self._hidden_depth:
            self._hidden_depth += 1
        if tag in ("label", "legend", "h1", "h2", "h3", "summary", "a", "button", "option"):
            self._open.append((tag, attributes, []))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, {key: (value or "") for key, value in attrs}))

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            self._texts.append(" ")
        if self._hidden_depth:
            self._hidden_depth -= 1
        if self._open and self._open[-1][0] == tag:
            _tag, attributes, parts = self._open.pop()
            text = " ".join(" ".join(parts).split())
            if tag == "label":
                self.labels[attributes.get("for", "")] = text
            elif tag == "legend":
                self.legends.append(text)
            elif tag in ("h1", "h2", "h3"):
                self.headings.append((tag, text))
            if self._open:
                self._open[-1][2].append(text)

    def handle_data(self, data):
        if self._hidden_depth:
            return
        self._texts.append(data)
        if self._open:
            self._open[-1][2].append(data)

    def find_all(self, tag: str, **attributes) -> list[dict]:
        return [
            attrs
            for name, attrs in self.elements
            if name == tag and all(attrs.get(k.rstrip("_")) == v for k, v in attributes.items())
        ]

    def input_names(self) -> set[str]:
        return {
            attrs["name"]
            for tag, attrs in self.elements
            if tag in ("input", "select", "textarea") and attrs.get("name")
        }

    def field_value(self, name: str) -> str | None:
        for tag, attrs in self.elements:
            if tag == "input" and attrs.get("name") == name:
                return attrs.get("value")
        return None


def page_of(response) -> Page:
    return Page(response.get_data(as_text=True))


def stored_counts() -> dict[str, int]:
    """How many leads, consent records and events exist."""
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Lead, ConsentRecord, Event)
    }


@pytest.fixture
def sent_tasks(monkeypatch) -> list[tuple[str, list]]:
    """Record the Celery tasks sent after a commit, instead of publishing them."""
    sent: list[tuple[str, list]] = []

    def record(_celery_app, task_name, args, _options):
        sent.append((task_name, list(args)))
        return True

    monkeypatch.setattr("leadrouter.jobs.send_now", record)
    return sent


def static_url(filename: str) -> str:
    """The address a page links for a static file: fingerprinted with the file's content hash."""
    content = (Path(leadrouter.__file__).resolve().parent / "static" / filename).read_bytes()
    return f"/static/{filename}?v={hashlib.sha256(content).hexdigest()[:12]}"
