"""The public pages at 390 px and 1366 px into docs/screenshots/ (shown in docs/public-site.md).

Every public page in English, the home page in Spanish, the form sent with mistakes, the thank-you
page, and the 404, 429 (the form's), 500 and 503 pages. Serves the app on a throwaway SQLite
database, rate limited and with two routes that fail on purpose, and drives the installed Chromium:

    .venv/bin/python tools/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.exc import OperationalError  # noqa: E402

from tests.browser import launch_chromium, serve_app  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PAGES = {
    "home": "/",
    "directory": "/help",
    "state": "/help/tx",
    "city": "/help/tx/austin",
    "signs": "/signs",
    "treatment": "/treatment",
    "self-check": "/self-check?see=1&dsm_criteria=cravings&dsm_criteria=tolerance&dsm_criteria=withdrawal",
    "privacy": "/privacy",
    "home-es": "/?lang=es",
    "not-found": "/no-such-page",
    "server-error": "/broken",
    "unavailable": "/database-down",
}
WIDTHS = (390, 1366)
# The form's allowance: the thank-you page uses it, so the next post is the 429.
LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_CONTACT": "1 per hour"}


def _broken():
    raise RuntimeError("a screenshot of the 500 page")


def _database_down():
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("a screenshot of the 503 page"))


def _send(page, url: str, name: str, phone: str) -> None:
    page.goto(f"{url}/help/tx/austin?lang=en")
    page.fill("#name", name)
    page.fill("#phone", phone)
    if phone.count("5") > 2:
        page.check("input[name=consent]")
    page.locator("form.contact-form button[type=submit]").click()
    page.wait_for_load_state()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_app(Path(tmp), **LIMITS) as (app, url),
        launch_chromium() as chromium,
    ):
        app.add_url_rule("/broken", view_func=_broken)
        app.add_url_rule("/database-down", view_func=_database_down)
        pages = {width: chromium.new_page(viewport={"width": width, "height": 900}) for width in WIDTHS}
        for width, page in pages.items():
            for name, path in PAGES.items():
                page.goto(f"{url}{path}")
                shoot(page, name, width)
            _send(page, url, "Kim Example", "123")  # sent back to fix: not counted by the limit
            shoot(page, "form-errors", width)
        _send(pages[WIDTHS[0]], url, "Kim Example", "(512) 555-0155")  # the one try the limit allows
        thanks_url = pages[WIDTHS[0]].url
        for width, page in pages.items():
            page.goto(thanks_url)
            shoot(page, "thanks", width)
            _send(page, url, "Kim Example", "123")
            shoot(page, "too-many-tries", width)
            page.close()
    print(f"wrote {(len(PAGES) + 3) * len(WIDTHS)} screenshots to {OUT}")


def shoot(page, name: str, width: int) -> None:
    page.screenshot(path=str(OUT / f"{name}-{width}.jpg"), full_page=True, quality=40)


if __name__ == "__main__":
    main()
