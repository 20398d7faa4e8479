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
        "amplification_gross",
        "amplification_net",
        "loss_area_value",
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


def _two_firm_run():
    """Two firms, worked by hand (docs/metrics.md): unit costs 2 and 1, baseline outputs 10 and
    20 (baseline value 40 a week); firm 0 loses half its capacity in weeks 2-3."""
    from types import SimpleNamespace

    from webmodel.coalition.disruptions import Disruption, ScheduledDisruption

    production = np.array([[10, 20], [5, 18], [5, 14], [7, 24], [12, 20]], dtype=float)
    cost, base = np.array([2.0, 1.0]), np.array([10.0, 20.0])
    recorded = {
        "output_loss": (cost * np.maximum(base - production, 0)).sum(axis=1),
        "output_value": (cost * production).sum(axis=1),
    }
    hit = Disruption("firm", "A", start=2, duration=2, severity=0.5)
    return SimpleNamespace(
        series=recorded.__getitem__,
        network=SimpleNamespace(
            n_firms=2, firms=SimpleNamespace(unit_cost=cost), baseline_output=base
        ),
        disruptions=[ScheduledDisruption(hit, firms=np.array([0]))],
        surge=1.0,
        surge_start=10,
    )


def test_ario_amplification_by_hand():
    model = _two_firm_run()
    # Direct: capacity removed x baseline use, valued: 0.5 x 10 x 2 = 10 in weeks 2 and 3.
    np.testing.assert_allclose(metrics.direct_loss_series(model), [0, 10, 10, 0, 0])
    # Gross: shortfalls 12, 16, 6, 0 over weeks 2-5 = 34; 34 / 20.
    assert metrics.amplification(model, "gross") == pytest.approx(1.7)
    # Net: 40 less output value 28, 24, 38, 44 = 12 + 16 + 2 - 4 = 26; 26 / 20.
    assert metrics.amplification(model, "net") == pytest.approx(1.3)
    # A stated window: the outage weeks only.
    assert metrics.amplification(model, "gross", window=(2, 3)) == pytest.approx(28 / 20)
    with pytest.raises(ValueError, match="gross or net"):
        metrics.amplification(model, "total")


def test_ario_amplification_on_runs(scenario):
    quiet = CoalitionModel(scenario, steps=30, rng=1, surge=2.0).run()
    assert metrics.amplification(quiet) is None  # a surge removes no capacity
    for spec in ("random:0.2@10+8", "product:tnt@10+8:s=0.5"):
        model = CoalitionModel(scenario, steps=60, rng=4, disruptions=[spec]).run()
        m = compute_metrics(model)
        assert m["amplification_net"] <= m["amplification_gross"]
        if ":s=" not in spec:  # a whole-firm outage loses at least its direct loss
            assert m["amplification_gross"] >= 1.0
        removed = metrics.capacity_removed(model)
        assert removed.max() == pytest.approx(0.5 if ":s=" in spec else 1.0)


def test_value_weighted_performance(scenario):
    model = CoalitionModel(
        scenario, steps=40, rng=1, disruptions=["assembly:USA@10+6"], topology="hub-and-spokes"
    ).run()
    q_value = metrics.performance_value(model)
    values = metrics.end_item_values(model)
    served = metrics.by_end_item(model, "served")
    demanded = metrics.by_end_item(model, "demanded")
    np.testing.assert_allclose(q_value, (served * values).sum(1) / (demanded * values).sum(1))
    assert q_value[:9] == pytest.approx(1.0) and q_value.min() < 0.5
    # Embodied cost: an end item is worth more than its assembler's own cost index (~1).
    assert np.all(values > 4.0)
    quiet = CoalitionModel(scenario, steps=20, rng=1).run()
    assert metrics.performance_value(quiet) == pytest.approx(1.0)
