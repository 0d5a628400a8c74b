"""The public pages stay light: the HTML, CSS and JS of the home and a city page, gzipped, at most 60 KB."""

from __future__ import annotations

import pytest

from bench.site_bench import PAGES, WEIGHT_TARGET_BYTES, page_weight


@pytest.mark.parametrize("path", PAGES.values())
def test_a_pages_html_css_and_js_weigh_at_most_60_kb_compressed(client, path):
    def fetch(url: str) -> bytes:
        response = client.get(url)
        assert response.status_code == 200, url
        return response.get_data()

    weight = page_weight(path, fetch)

    assert weight["files"] >= 2, "the page and its stylesheet at least"
    assert weight["gzip"] <= WEIGHT_TARGET_BYTES, weight


def test_the_self_checks_script_counts_in_its_pages_weight(client):
    weight = page_weight("/self-check", lambda url: client.get(url).get_data())
    assert weight["files"] == 3, "the page, app.css and self-check.js"
    assert weight["gzip"] <= WEIGHT_TARGET_BYTES, weight
