"""RSS, PSS and USS from /proc/<pid>/smaps_rollup (bench/harness/processes.py)."""

from __future__ import annotations

import os

from bench.harness.processes import memory_mb, parse_smaps_rollup

ROLLUP = """\
55d4c6b2e000-7ffd3a5f9000 ---p 00000000 00:00 0                          [rollup]
Rss:              102400 kB
Pss:               61440 kB
Pss_Anon:          40960 kB
Shared_Clean:      40960 kB
Shared_Dirty:          0 kB
Private_Clean:      2048 kB
Private_Dirty:     38912 kB
Swap:                  0 kB
"""


def test_pss_and_uss_are_read_beside_rss():
    assert parse_smaps_rollup(ROLLUP) == {"rss": 100.0, "pss": 60.0, "uss": 40.0}


def test_a_live_process_has_uss_within_pss_within_rss():
    memory = memory_mb(os.getpid())

    assert 0 < memory["uss"] <= memory["pss"] <= memory["rss"]


def test_a_process_that_is_gone_has_no_memory():
    assert memory_mb(2**22 + 12345) is None
