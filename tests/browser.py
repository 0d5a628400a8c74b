"""Shared pieces for the end-to-end tests in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from leadrouter import create_app
from tests.conftest import base_config, migrate_to_head

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = os.environ.get("LEADROUTER_SCREENSHOTS", "/tmp")


@contextmanager
def serve_app(instance_path, **config):
    """The app on 127.0.0.1 and a free port, on its own migrated SQLite file, CSRF on."""
    url = f"sqlite:///{instance_path / 'browser.sqlite'}"
    app = create_app(base_config(url, str(instance_path), WTF_CSRF_ENABLED=True, **config))
    migrate_to_head(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def launch_chromium():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
