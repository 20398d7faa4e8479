"""The bench's own arithmetic and its reference guard (times themselves are never asserted)."""

from __future__ import annotations

import pytest

from webmodel.analysis.bench import BenchRow, bench_size, bench_startup, fit_step_cost


def _row(links: int, steps: int, engine_s: float) -> BenchRow:
    return BenchRow(100, links, steps, 0.0, engine_s, None, None, None)


def test_step_cost_is_the_least_squares_line():
    # 50 us fixed + 20 ns per link, exactly.
    rows = [_row(n, 100, 100 * (50e-6 + 20e-9 * n)) for n in (1_000, 10_000, 100_000)]
    cost = fit_step_cost(rows)
    assert cost.sizes == 3
    assert cost.ns_per_link_step == pytest.approx(20.0)
    assert cost.us_fixed_per_step == pytest.approx(50.0)


def test_one_size_puts_all_cost_on_links():
    cost = fit_step_cost([_row(10_000, 10, 10 * 1e-3)])
    assert cost.us_fixed_per_step is None and cost.ns_per_link_step == pytest.approx(100.0)
    assert fit_step_cost([]) is None


def test_reference_stops_once_projected_over_the_limit():
    """No earlier rate: the reference runs its first steps, projects, and stops."""
    row, rate = bench_size(200, 50, max_reference_s=1e-6)
    assert row.reference_s is None and rate is None
    assert row.reference_note.startswith("stopped after 2 steps")


def test_reference_skipped_from_an_earlier_rate():
    row, _ = bench_size(200, 20, max_reference_s=1.0, reference_rate=1.0)
    assert row.reference_s is None and row.reference_note.startswith("projected")


def test_startup_is_timed_in_a_new_process():
    startup = bench_startup(runs=1)
    assert startup.wall_s > 0 and startup.cpu_s > 0 and startup.runs == 1
