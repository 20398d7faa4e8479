"""Metrics against series computed by hand (docs/metrics.md gives the formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from webmodel.core import metrics
from webmodel.core.metrics import METRIC_NAMES, compute_metrics
from webmodel.core.model import CoalitionModel

# Q(t) for weeks 1..10, shock in week 3.
Q = np.array([1.0, 1.0, 0.6, 0.4, 0.7, 0.9, 0.96, 0.94, 0.97, 1.0])


def test_loss_area_is_the_shortfall_after_the_shock():
    # (1-.6)+(1-.4)+(1-.7)+(1-.9)+(1-.96)+(1-.94)+(1-.97) = .4+.6+.3+.1+.04+.06+.03
    assert metrics.loss_area(Q, t0=3) == pytest.approx(1.53)
    assert metrics.loss_area(np.array([1.0, 1.2, 0.9]), t0=1) == pytest.approx(0.1)


def test_time_to_recover_is_when_q_stays_above_95_percent():
    # Below 0.95 last in week 8 (index 7); from week 9 on it stays above: 9 - 3 = 6 weeks.
    assert metrics.time_to_recover(Q, t0=3) == 6
    assert metrics.time_to_recover(np.ones(5), t0=2) == 0
    assert metrics.time_to_recover(np.array([1, 0.5, 0.5]), t0=2) is None


def test_time_to_surge_target():
    ramp = np.array([1.0, 0.5, 0.6, 0.8, 0.92, 0.95])
    assert metrics.time_to_target(ramp, start=2, level=0.9) == 3  # week 5 - week 2
    assert metrics.time_to_target(ramp, start=2, level=0.99) is None


def test_fill_rate_averages_end_items():
    delivered = np.array([[90.0, 1.0], [110.0, 1.0]])
    demanded = np.array([[100.0, 2.0], [100.0, 2.0]])
    # shells 200/200 = 1, interceptors 2/4 = 0.5 -> mean 0.75
    assert metrics.fill_rate(delivered, demanded) == pytest.approx(0.75)


def test_model_metrics_have_every_name_and_nulls_without_shock(scenario):
    quiet = compute_metrics(CoalitionModel(scenario, steps=30, rng=1).run())
    assert set(quiet) == set(METRIC_NAMES)
    for name in (
        "loss_area",
        "min_performance",
        "time_to_recover",
        "time_to_surge_target",
        "amplification",
    ):
        assert quiet[name] is None, name
    assert quiet["fill_rate"] == pytest.approx(1.0)
    assert quiet["backlog_end"] == pytest.approx(0.0, abs=1e-9)
    assert quiet["peak_over_baseline"] == pytest.approx(1.0)


def test_model_metrics_under_a_shock(scenario):
    model = CoalitionModel(
        scenario, topology="hub-and-spokes", steps=80, rng=1, disruptions=["assembly:USA@10+6"]
    ).run()
    m = compute_metrics(model)
    q = metrics.performance(model)
    assert m["min_performance"] == pytest.approx(q[9:].min()) and m["min_performance"] < 0.5
    assert m["loss_area"] == pytest.approx(np.clip(1 - q[9:], 0, None).sum())
    assert m["loss_area"] >= 3.0  # six weeks with no assembly, cushioned by the pipeline
    assert m["amplification"] > 1.0  # upstream firms lose output too
    assert m["hub_assembly_share"] == 1.0
    assert m["supplier_hhi"] > 0.7  # single sourcing
    web = compute_metrics(
        CoalitionModel(scenario, topology="production-web", steps=10, rng=1).run()
    )
    assert web["supplier_hhi"] < m["supplier_hhi"]
    assert web["cross_border_share"] > m["cross_border_share"]
    assert web["hub_assembly_share"] < 1.0


def test_amplification_is_total_over_direct_loss(scenario):
    """Hit firms lose at least their own direct loss, so the ratio is >= 1."""
    for share in (0.05, 0.4):
        model = CoalitionModel(
            scenario,
            topology="production-web",
            steps=60,
            rng=4,
            disruptions=[f"random:{share}@10+8"],
        ).run()
        total = model.series("output_loss").sum()
        direct = model.series("direct_loss").sum()
        assert direct > 0
        assert compute_metrics(model)["amplification"] == pytest.approx(total / direct)
        assert total / direct >= 1.0
