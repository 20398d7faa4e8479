"""Peer check against BoARIO 0.7.2 on the small matched economy (docs/validation-ario.md).

Marked ``ario`` (BoARIO is an optional group: ``uv sync --group ario``; CI installs it). What
must hold today: both models sit still without a shock, the shock hits the same firm by the
same share in the same weeks on both sides, and the direct losses are equal. Agreement of the
outcomes is asserted per case; the cases where a known mechanism of this model differs from
ARIO's are marked with that reason (strict: once the mechanism is fixed the mark must go).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

pytest.importorskip("boario", reason="the BoARIO group is not installed (uv sync --group ario)")

from webmodel.analysis.validation import ario

pytestmark = pytest.mark.ario

CASES = [(s, d) for d in ario.DURATIONS for s in ario.SEVERITIES]
GROSS_TOLERANCE = 0.10  # relative, on gross amplification
NET_TOLERANCE = 0.10  # absolute, on net amplification

# Gross amplification agrees within 10 % once the supply line counts what suppliers owe and
# alpha moves with scarcity (issue findings 1-2; the matched economy also floors the stock gap at
# 0, ARIO's rule: destocking = "none"). Two cases still differ, each for a mechanism:
# - small, long shocks: unfilled intermediate orders stay as backlog here and count in the
#   buyer's supply line, and scarcity counts that backlog, so the hit firm's alpha rises faster;
#   ARIO re-issues orders every step from the stock gap, split by fixed shares, and the healthy
#   supplier fills its share of the re-issued gap. Here the loss is smaller (0.96 vs 1.30).
# - whole, long outages: ARIO drops the final demand it cannot meet (see FINAL_BACKLOG).
REISSUED = "ARIO re-issues unfilled orders to every supplier; here they stay as backlog"
FINAL_BACKLOG = "ARIO drops unmet final demand; this model backlogs it and delivers it later"
GROSS_DIVERGENT = {(0.1, 16): REISSUED, (1.0, 16): FINAL_BACKLOG}
# Net amplification: where BoARIO loses final demand for good (unmet final demand is not
# carried over in ARIO), this model delivers it later from the states' backlog. Elsewhere, with
# ARIO's floored stock gap, the inputs already on their way when the hit firm's use drops stay
# in its stock for good (a surplus is never run down): here an order takes two weeks to arrive
# (ordered after production, shipped next week, one week in transit), in BoARIO one step, so
# this model strands about twice the surplus and its net amplification is 0.1-0.2 lower.
STRANDED = "inputs already on their way strand as surplus stock; here two weeks of them, ARIO one"
NET_DIVERGENT = dict.fromkeys([(1.0, 8), (0.5, 16), (0.75, 16), (1.0, 16)], FINAL_BACKLOG)
NET_DIVERGENT |= {
    (s, d): STRANDED
    for s, d in CASES
    if (s, d) not in NET_DIVERGENT and (s, d) not in {(0.1, 2), (0.1, 16)}
}


@functools.cache
def _both(severity: float, duration: int):
    return ario.run_webmodel(severity, duration), ario.run_boario(severity, duration)


def test_both_models_sit_at_equilibrium_without_a_shock():
    (_, ours), (_, theirs) = _both(1e-12, 2)
    base = ario.boario_model()[2]
    np.testing.assert_allclose(ours, np.broadcast_to(base, ours.shape), rtol=1e-9)
    np.testing.assert_allclose(theirs, np.broadcast_to(base, theirs.shape), rtol=1e-6)


@pytest.mark.parametrize(("severity", "duration"), CASES)
def test_the_same_shock_hits_both_models(severity, duration):
    (ours, our_output), (theirs, their_output) = _both(severity, duration)
    assert ours.direct_loss == pytest.approx(theirs.direct_loss)
    _, industries, base = ario.boario_model()
    hit = industries.index(("BBB", "part"))
    first = ario.START - 1
    # In the first week of the shock neither model has adapted yet: (1 - s) x baseline.
    expected = (1 - severity) * base[hit]
    # (This model's capacity is baseline + 0.01 %: the scenario format wants a little room.)
    assert our_output[first, hit] == pytest.approx(expected, rel=2e-4)
    assert their_output[first, hit] == pytest.approx(expected)
    assert their_output[first - 1, hit] == pytest.approx(base[hit])  # not a step early
    # Through its last week the firm is held to (1 - s) x alpha_max x baseline on both sides;
    # in the week after, a firm that lost half or more produces above that (capacity is back).
    last, bound = first + duration - 1, (1 - severity) * 1.25 * base[hit] * (1 + 2e-4)
    assert our_output[last, hit] <= bound and their_output[last, hit] <= bound
    if severity >= 0.5:
        assert our_output[last + 1, hit] > bound and their_output[last + 1, hit] > bound


def _cases(divergent: dict[tuple[float, int], str]):
    return [
        pytest.param(s, d, marks=pytest.mark.xfail(strict=True, reason=divergent[s, d]))
        if (s, d) in divergent
        else (s, d)
        for s, d in CASES
    ]


@pytest.mark.parametrize(("severity", "duration"), _cases(GROSS_DIVERGENT))
def test_gross_amplification_agrees(severity, duration):
    (ours, _), (theirs, _) = _both(severity, duration)
    assert ours.amplification_gross == pytest.approx(
        theirs.amplification_gross, rel=GROSS_TOLERANCE
    )


@pytest.mark.parametrize(("severity", "duration"), _cases(NET_DIVERGENT))
def test_net_amplification_agrees(severity, duration):
    (ours, _), (theirs, _) = _both(severity, duration)
    assert ours.amplification_net == pytest.approx(theirs.amplification_net, abs=NET_TOLERANCE)


def test_boarios_event_timing_quirk_is_still_there():
    """Why the check sets BoARIO's capacity loss itself: EventArbitraryProd starts one step
    late and, with recovery_tau = 1, lasts two steps longer than its duration. If this fails,
    BoARIO changed and the workaround in ario.py may go."""
    import logging
    import warnings

    import pandas as pd
    from boario.event import EventArbitraryProd
    from boario.simulation import Simulation

    logging.getLogger("boario").setLevel(logging.ERROR)
    model, industries, base = ario.boario_model()
    hit = list(model.industries).index(("BBB", "part"))
    impact = pd.Series(0.0, index=model.industries)
    impact.iloc[hit] = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = Simulation(model, n_temporal_units_to_sim=30)
        sim.add_event(EventArbitraryProd(impact=impact, occurrence=10, duration=4))
        sim.loop()
    capacity = sim.production_capacity.to_numpy()[:, hit]
    reduced = np.flatnonzero(capacity < base[industries.index(("BBB", "part"))] * 0.99)
    assert reduced[0] == 11  # asked for step 10
    assert len(reduced) == 4 + 2  # asked for 4 steps
