"""Screenshots of the public pages at 390 px and 1366 px, in English, into docs/screenshots/.

Serves the app on a throwaway SQLite database and drives the installed Chromium:

    .venv/bin/python tools/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
    "not-found": "/no-such-page",
}
WIDTHS = (390, 1366)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_app(Path(tmp)) as (_app, url),
        launch_chromium() as chromium,
    ):
        for width in WIDTHS:
            page = chromium.new_page(viewport={"width": width, "height": 900})
            for name, path in PAGES.items():
                page.goto(f"{url}{path}")
                page.screenshot(path=str(OUT / f"{name}-{width}.jpg"), full_page=True, quality=40)
            page.close()
    print(f"wrote {len(PAGES) * len(WIDTHS)} screenshots to {OUT}")


if __name__ == "__main__":
    main()
