"""Reading a process's CPU time from /proc/<pid>/stat for the pipeline benchmark."""

from __future__ import annotations

import os
from pathlib import Path

from bench.pipeline import cpu_seconds_from_stat

# proc(5) field order; utime (14) = 250 ticks, stime (15) = 70 ticks, and the children's
# cutime/cstime (16, 17) = 9999 ticks each, which must not count: they are reaped children.
STAT_FIELDS_AFTER_NAME = "S 1 1 1 0 -1 4194304 126 0 0 0 250 70 9999 9999 20 0 1 0 2712151"


def test_user_and_system_ticks_are_added_and_converted_to_seconds() -> None:
    stat = f"4242 (python) {STAT_FIELDS_AFTER_NAME}"
    assert cpu_seconds_from_stat(stat, ticks_per_second=100) == 3.2


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() -> None:
    stat = f"4242 (uvicorn (worker) 1) {STAT_FIELDS_AFTER_NAME}"
    assert cpu_seconds_from_stat(stat, ticks_per_second=100) == 3.2


def test_this_process_reads_as_the_cpu_time_the_kernel_reports_for_it() -> None:
    sum(range(2_000_000))  # burn a few ticks so the reading cannot be zero
    from_stat = cpu_seconds_from_stat(Path("/proc/self/stat").read_text(), os.sysconf("SC_CLK_TCK"))
    from_times = os.times().user + os.times().system
    assert from_stat > 0
    # The same counters read twice; a tick or two may pass between the reads.
    assert abs(from_stat - from_times) <= 0.05
