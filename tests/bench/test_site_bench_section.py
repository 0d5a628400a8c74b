"""bench/site_bench.py keeps its section of RESULTS.md; bench/run.py puts it back after rewriting the file."""

from __future__ import annotations

from bench.site_bench import SECTION_END, SECTION_START, kept_section, put_section


def section(figure: str) -> str:
    return f"{SECTION_START}\n## The public site (bench/site_bench.py)\n\n| {figure} |\n\n{SECTION_END}\n"


def test_the_section_is_appended_then_replaced_never_repeated(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n| intake | 168 req/s |\n")

    put_section(results, section("first run"))
    put_section(results, section("second run"))

    text = results.read_text()
    assert text.count(SECTION_START) == 1 and "second run" in text and "first run" not in text
    assert text.startswith("# Benchmark results\n\n| intake | 168 req/s |\n")


def test_a_rewrite_of_the_file_by_bench_run_keeps_the_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    put_section(results, section("site figures"))

    kept = kept_section(results)
    results.write_text("# Benchmark results\n\n| intake | 200 req/s |\n")  # what write_results does
    put_section(results, kept)

    text = results.read_text()
    assert "| intake | 200 req/s |" in text and "| site figures |" in text
    assert kept_section(results) == kept


def test_nothing_to_keep_when_there_is_no_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    assert kept_section(results) is None
    results.write_text("# Benchmark results\n")
    assert kept_section(results) is None
    put_section(results, None)
    assert results.read_text() == "# Benchmark results\n"
