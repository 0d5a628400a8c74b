"""Every public page loads from this site alone: no font, script, image or beacon from anyone else."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser import launch_chromium, serve_app

pytestmark = pytest.mark.browser

PUBLIC_PAGES = [
    "/",
    "/?lang=es",
    "/help",
    "/help/tx",
    "/help/tx/austin",
    "/signs",
    "/treatment",
    "/privacy",
    "/self-check?see=1&dsm_criteria=cravings",
    "/no-such-page",
]


def test_public_pages_ask_no_other_host(tmp_path):
    with serve_app(tmp_path) as (_app, url), launch_chromium() as chromium:
        page = chromium.new_page(viewport={"width": 390, "height": 844})
        asked: dict[str, set[str]] = {}
        current = {"path": ""}
        page.on("request", lambda request: asked.setdefault(current["path"], set()).add(request.url))
        for path in PUBLIC_PAGES:
            current["path"] = path
            page.goto(f"{url}{path}", wait_until="networkidle")
        page.close()

    own = urlsplit(url).netloc
    elsewhere = {
        path: sorted(u for u in urls if urlsplit(u).netloc != own and not u.startswith("data:"))
        for path, urls in asked.items()
    }
    assert not any(elsewhere.values()), elsewhere
    assert any("/static/css/app.css?v=" in u for u in asked["/"]), "the stylesheet was fetched"
