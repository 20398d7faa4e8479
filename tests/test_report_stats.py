"""The report's statistics on cases computed by hand: Benjamini-Hochberg, intervals that stay
inside a metric's bounds, a time to reach a level with two modes, and paired effect sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from webmodel.analysis.report.document import cell
from webmodel.analysis.report.stats import (
    Estimate,
    PairedDifference,
    control_fdr,
    estimate,
    family_note,
    paired_values,
)
from webmodel.core.labels import METRIC_WORDS


def _tested(p: float) -> PairedDifference:
    return PairedDifference("web", "hub", "loss_area", None, None, None, None, None, p_value=p)


def test_benjamini_hochberg_by_hand():
    # m = 5 p-values; sorted, p_(i) m / i = 0.005, 0.045, 0.0667, 0.05625, 0.3, then the running
    # minimum from the largest down: q = 0.005, 0.045, 0.05625, 0.05625, 0.3.
    p = [0.04, 0.001, 0.3, 0.018, 0.045]
    expected = [0.05625, 0.005, 0.3, 0.045, 0.05625]
    family = "the 5 cells of a test, loss_area"
    out = control_fdr([_tested(x) for x in p] + [_tested(None)], family)
    assert [d.q_value for d in out[:5]] == pytest.approx(expected)
    assert out[5].q_value is None and out[5].family_size == 5  # no test, not in the family
    # p < 0.05 alone would call four significant; at a false discovery rate of 0.05, two are.
    assert sum(x < 0.05 for x in p) == 4
    assert [d.significant for d in out[:5]] == [False, True, False, True, False]
    assert family_note(out) == (
        "family: the 5 cells of a test, loss_area (5 tests); Benjamini–Hochberg, q = 0.05: "
        "2 significant"
    )
    assert all(d.family == family for d in out)


def test_a_share_whose_t_interval_would_pass_1_gets_a_bootstrap_one_inside_it():
    values = np.array([1.0, 1.0, 1.0, 1.0, 0.6])
    # By hand: mean 0.92, sd 0.17889, t(0.975, 4) = 2.7764, half-width 0.2221 -> high 1.142.
    naive = Estimate.of(values)
    assert naive.high == pytest.approx(1.1421, abs=1e-4)
    for metric in ("fill_rate", "hub_assembly_share", "min_performance"):
        assert METRIC_WORDS[metric].bounds[1] == 1.0
        est = estimate(values, metric)
        assert est.method == "bootstrap"
        assert est.mean == pytest.approx(0.92)
        assert 0.6 <= est.low <= est.mean <= est.high <= 1.0  # within the values observed
        assert estimate(values, metric) == est  # a fixed random state: the same interval


def test_a_mean_whose_t_interval_crosses_0_falls_back_to_the_bootstrap():
    values = np.array([0.0, 0.0, 0.0, 0.0, 2.0])  # weeks of demand lost; t low < 0
    assert Estimate.of(values).low < 0
    est = estimate(values, "loss_area")
    assert est.method == "bootstrap" and est.low >= 0
    inside = np.array([5.0, 6.0, 7.0])  # t interval 6 ± 2.48, inside the bounds: kept
    assert estimate(inside, "loss_area").method == "t"


def test_a_bimodal_time_to_surge_target_is_not_pooled_into_a_mean():
    # Ten runs reach the target in 8 weeks, ten in 40, five never: the mean of those that do,
    # 24 weeks, is a time no run took.
    values = np.array([8.0] * 10 + [40.0] * 10 + [np.nan] * 5)
    assert np.nanmean(values) == 24
    est = estimate(values, "time_to_surge_target")
    assert est.method == "median" and est.mean in (8.0, 40.0)
    assert est.quartiles == (8.0, 40.0)
    assert (est.n, est.runs) == (20, 25)
    assert 8.0 <= est.low <= est.high <= 40.0
    text = cell(est)
    assert text.startswith("median 8 [") and "quartiles 8–40" in text
    assert text.endswith("reached in 20 of 25 runs")


def test_paired_effect_sizes_by_hand():
    hub = np.array([10.0, 10.0, 10.0])
    web = np.array([11.0, 12.0, 13.0])  # differences 1, 2, 3: mean 2, sd 1
    d = paired_values(web, hub, "loss_area", "web", "hub")
    assert d.difference.mean == pytest.approx(2.0) and d.difference.n == 3
    assert d.relative == pytest.approx(0.2)
    assert d.d_z == pytest.approx(2.0)
    assert d.g_z == pytest.approx(2.0 * (1 - 3 / 7))  # Hedges: J = 1 - 3 / (4 df - 1)
    # Paired t with 2 degrees of freedom: two-sided p = 1 - t / sqrt(t^2 + 2), t = 2 sqrt(3).
    t = 2 * math.sqrt(3)
    assert d.p_value == pytest.approx(1 - t / math.sqrt(t * t + 2))
    assert d.test == "paired t" and d.share_positive == 1.0


def test_noise_is_a_tie_not_an_effect():
    hub = np.array([0.5, 0.5, 0.5, 0.5])
    web = hub + np.array([1e-16, -2e-16, 0.0, 3e-16])
    d = paired_values(web, hub, "hub_assembly_share")
    assert d.d_z is None and d.p_value == 1.0 and not d.significant
    assert d.share_positive == 0.0 and d.share_negative == 0.0


def test_a_time_to_reach_a_level_is_compared_by_the_sign_test_counting_never_as_slower():
    nan = np.nan
    web = np.array([8.0] * 10 + [8.0, 8.0, nan, nan])
    hub = np.array([40.0] * 10 + [nan, nan, 30.0, nan])
    d = paired_values(web, hub, "time_to_surge_target", "web", "hub")
    # Web faster in 10 + 2 pairs, slower in 1 (only the hub reached it), one tie (neither).
    assert (d.only_level, d.only_reference) == (2, 1)
    assert d.test == "sign test"
    assert d.p_value == pytest.approx(2 * (1 + 13) / 2**13)  # binomial(13, 1/2), 1 or fewer
    assert d.difference.method == "median" and d.difference.mean == -32.0
    assert d.share_negative == pytest.approx(12 / 13)


def test_sobol_indices_drop_a_base_sample_with_a_failed_run():
    """A failed run leaves a gap; its base sample's block is dropped whole and the indices of
    y = x0 + 2 x1 (S1 = 1/5 and 4/5, x2 inert) are still found, saying one block went."""
    from SALib.sample import sobol as saltelli

    from webmodel.analysis.report.stats import _indices

    names = ["x0", "x1", "x2"]
    problem = {"num_vars": 3, "names": names, "bounds": [[0.0, 1.0]] * 3}
    unit = saltelli.sample(problem, 1024, calc_second_order=False, seed=1)
    y = unit[:, 0] + 2 * unit[:, 1]
    whole = {r["factor"]: r for r in _indices("sobol", names, unit, y, {})}
    y[7 * 5 + 2] = np.nan  # one run of base sample 7 failed (blocks of 3 + 2 rows)
    rows = {r["factor"]: r for r in _indices("sobol", names, unit, y, {})}
    assert rows["x0"]["dropped_base"] == 1 and whole["x0"]["dropped_base"] == 0
    assert rows["x0"]["base"] == 1023 and whole["x0"]["base"] == 1024
    assert rows["x0"]["S1"] == pytest.approx(0.2, abs=0.05)
    assert rows["x1"]["S1"] == pytest.approx(0.8, abs=0.05)
    assert abs(rows["x2"]["ST"]) < 0.02
    assert rows["x1"]["S1"] == pytest.approx(whole["x1"]["S1"], abs=0.02)
