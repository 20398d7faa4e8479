"""Peer check against BoARIO (Hallegatte's ARIO, version 0.7.2) on a small matched economy.

The economy (``ario_economy.toml`` beside this file): two regions, three products, one firm per
region and product, weekly steps, unit costs 1, capacity = baseline output. The same
wiring is handed to both models: BoARIO's input-output table is built from this model's
baseline link flows, so supplier shares are identical and fixed (BoARIO ``order_type`` other
than "alt" keeps them fixed). Matched parameters: inventory cover (``main_inv_dur`` =
``target_cover_weeks``), inventory restoration time (``inventory_restoration_tau`` =
``adjustment_time``), ``alpha_max``, ``alpha_tau`` = ``alpha_time``; BoARIO's psi = 1 / cover, so
that a firm is held back by its stock only when it runs out (this model's Leontief rule); the
stock gap floored at 0 as in ARIO (``destocking = "none"``); no reconstruction, no investment, no
re-sourcing.

Shocks: one firm (region BBB's intermediate-goods maker) loses a share s of its capacity for
d weeks, s in 10-100 %, d in 2-16 weeks. Both sides report, over weeks t0 .. T:
total output lost (gross: shortfalls only; net: less output above baseline), the direct loss
(capacity removed x baseline output), their ratios (amplification) and the recovery time (weeks
from t0 until every firm's output stays within 1 % of baseline).

BoARIO's quirks, and how they are worked around (see ``docs/validation-ario.md``):

- ``EventArbitraryProd`` applies its impact one step late: ``Simulation`` updates the total
  capacity loss before it stores the arbitrary one, so week t sees the loss set for t - 1;
  and with ``recovery_tau = 1`` the loss lasts two steps longer than ``duration``. The check
  therefore sets the capacity loss itself each step, through the model's public
  ``prod_cap_delta_arbitrary`` setter, instead of adding an event.
- BoARIO wants yearly tables: flows are given x 52 with ``iotable_year_to_temporal_unit_factor
  = 52`` (one step = one week), and ``monetary_factor = 1``.

Run ``python -m webmodel.analysis.validation.ario`` (needs ``uv sync --group ario``) to write
``docs/validation-ario.md``.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from webmodel.coalition.scenario import Scenario, load_scenario
from webmodel.core.model import CoalitionModel

SEVERITIES = (0.1, 0.25, 0.5, 0.75, 1.0)
DURATIONS = (2, 4, 8, 16)
HIT = "BBB-part-1"  # the firm every shock hits
START = 10  # first week of every shock
HORIZON = 104  # weeks simulated
RECOVERED_WITHIN = 0.01  # output within 1 % of baseline counts as recovered
WEEKS_PER_YEAR = 52


def economy() -> Scenario:
    """The matched economy (``ario_economy.toml``)."""
    path = resources.files("webmodel.analysis.validation").joinpath("ario_economy.toml")
    with resources.as_file(path) as file:
        return load_scenario(file)


@dataclass(frozen=True)
class Outcome:
    """What one model made of one shock, over weeks START .. HORIZON."""

    gross_loss: float
    net_loss: float
    direct_loss: float
    recovery_weeks: int | None

    @property
    def amplification_gross(self) -> float:
        return self.gross_loss / self.direct_loss

    @property
    def amplification_net(self) -> float:
        return self.net_loss / self.direct_loss


def outcome(production: np.ndarray, baseline: np.ndarray, removed: np.ndarray) -> Outcome:
    """Losses and recovery from weekly output per firm (weeks x firms, week 1 first) and the
    share of capacity removed per week and firm; both models are measured by this one rule."""
    window = slice(START - 1, HORIZON)
    gap = baseline - production[window]
    direct = float((removed[window] * baseline).sum())
    off = np.flatnonzero(np.any(np.abs(production[window] / baseline - 1) > RECOVERED_WITHIN, 1))
    if len(off) and off[-1] == HORIZON - START:
        recovery = None
    else:
        recovery = int(off[-1] + 1) if len(off) else 0
    return Outcome(float(np.maximum(gap, 0).sum()), float(gap.sum()), direct, recovery)


def removed_share(n_firms: int, firm: int, severity: float, duration: int) -> np.ndarray:
    """Weeks x firms: the share of capacity the shock removes."""
    removed = np.zeros((HORIZON, n_firms))
    removed[START - 1 : START - 1 + duration, firm] = severity
    return removed


def run_webmodel(
    severity: float, duration: int, engine: str = "array"
) -> tuple[Outcome, np.ndarray]:
    """This model on the matched economy; returns the outcome and weekly output per firm."""
    model = CoalitionModel(
        economy(),
        topology="production-web",
        steps=HORIZON,
        rng=1,
        engine=engine,
        disruptions=[f"firm:{HIT}@{START}+{duration}:s={severity:g}"],
    )
    production = np.zeros((HORIZON, model.network.n_firms))
    for week in range(HORIZON):
        model.step()
        production[week] = model.engine.production
    base = model.network.baseline_output
    firm = model.network.firms.name.index(HIT)
    removed = removed_share(model.network.n_firms, firm, severity, duration)
    return outcome(production, base, removed), production


def boario_model():
    """BoARIO's ARIOPsiModel on this economy, built from this model's baseline wiring.

    Returns (the BoARIO model, industry labels in firm order, baseline output per firm).
    """
    import pandas as pd
    import pymrio
    from boario.extended_models import ARIOPsiModel

    scenario = economy()
    net = CoalitionModel(scenario, topology="production-web", steps=1, rng=1).network
    p = scenario.parameters
    codes, names = net.state_codes, net.product_names
    industries = [
        (codes[net.firms.state[i]], names[net.firms.product[i]]) for i in range(net.n_firms)
    ]
    flow = net.baseline_link_flow() * WEEKS_PER_YEAR
    z = np.zeros((net.n_firms, net.n_firms))
    y = np.zeros((net.n_firms, len(codes)))
    buyer = net.slot_firm[net.link_slot]
    firm_link = buyer >= 0
    np.add.at(z, (net.link_supplier[firm_link], buyer[firm_link]), flow[firm_link])
    state_link = ~firm_link
    np.add.at(
        y,
        (net.link_supplier[state_link], net.slot_state[net.link_slot[state_link]]),
        flow[state_link],
    )
    index = pd.MultiIndex.from_tuples(industries, names=["region", "sector"])
    final = pd.MultiIndex.from_tuples([(c, "final") for c in codes], names=["region", "category"])
    io = pymrio.IOSystem(
        Z=pd.DataFrame(z, index=index, columns=index), Y=pd.DataFrame(y, index=index, columns=final)
    )
    io.x = pymrio.calc_x(io.Z, io.Y)
    io.A = pymrio.calc_A(io.Z, io.x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BoARIO warns that a year is not 365 steps: wanted here
        model = ARIOPsiModel(
            io,
            order_type="fixed",  # anything but "alt": supplier shares stay at baseline
            alpha_max=p.alpha_max,
            alpha_tau=int(p.alpha_time),
            main_inv_dur=int(p.target_cover_weeks),
            psi_param=1.0 / p.target_cover_weeks,
            inventory_restoration_tau=int(p.adjustment_time),
            temporal_units_by_step=1,
            iotable_year_to_temporal_unit_factor=WEEKS_PER_YEAR,
            monetary_factor=1,
        )
    return model, industries, net.baseline_output


def run_boario(severity: float, duration: int) -> tuple[Outcome, np.ndarray]:
    """BoARIO on the matched economy, the capacity loss set step by step (see the module
    docstring for why not through ``EventArbitraryProd``)."""
    from boario.simulation import Simulation

    logging.getLogger("boario").setLevel(logging.ERROR)
    model, industries, base = boario_model()
    firm = industries.index(tuple(HIT.rsplit("-", 1)[0].split("-")))
    removed = removed_share(len(industries), firm, severity, duration)
    order = [list(model.industries).index(i) for i in industries]  # BoARIO sorts industries
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = Simulation(model, n_temporal_units_to_sim=HORIZON)

    def set_capacity_loss() -> None:
        delta = np.zeros(len(industries))
        week = sim.current_temporal_unit + 1  # BoARIO counts steps from 0
        if week <= HORIZON:
            delta[order] = removed[week - 1]
        model.prod_cap_delta_arbitrary = delta  # the setter updates the total loss at once

    sim.update_prod_cap_delta_arb = set_capacity_loss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.loop()
    production = sim.production_realised.to_numpy()[:HORIZON, order]
    if len(production) < HORIZON:
        raise RuntimeError(f"BoARIO stopped after {len(production)} of {HORIZON} steps")
    return outcome(production, base, removed), production


@dataclass(frozen=True)
class Case:
    severity: float
    duration: int
    webmodel: Outcome
    boario: Outcome


def compare_with_boario(severities=SEVERITIES, durations=DURATIONS) -> list[Case]:
    """Every shock on both models."""
    return [
        Case(s, d, run_webmodel(s, d)[0], run_boario(s, d)[0])
        for d in durations
        for s in severities
    ]


def _recovery(weeks: int | None) -> str:
    return "not by week 104" if weeks is None else str(weeks)


def markdown(cases: list[Case], seconds: float) -> str:
    """The side-by-side table of ``docs/validation-ario.md`` (its generated part)."""
    lines = [
        "| s | weeks | gross loss (this / BoARIO) | amplification gross | amplification net "
        "| recovery weeks |",
        "|---|---|---|---|---|---|",
    ]
    for c in cases:
        w, b = c.webmodel, c.boario
        lines.append(
            f"| {c.severity:g} | {c.duration} | {w.gross_loss:,.1f} / {b.gross_loss:,.1f} "
            f"| {w.amplification_gross:.2f} / {b.amplification_gross:.2f} "
            f"| {w.amplification_net:.2f} / {b.amplification_net:.2f} "
            f"| {_recovery(w.recovery_weeks)} / {_recovery(b.recovery_weeks)} |"
        )
    lines.append("")
    lines.append(
        f"Direct loss is the same on both sides by construction (s x baseline output x weeks, "
        f"e.g. {cases[0].webmodel.direct_loss:g} for the first row). {len(cases)} shocks on "
        f"both models took {seconds:.0f} s."
    )
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- generated: ario table -->", "<!-- end of generated table -->"


def write_doc(path: Path, table: str) -> None:
    """Replace the generated table in ``path`` (between the BEGIN and END markers)."""
    text = path.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", default="docs/validation-ario.md", help="file to update")
    parser.add_argument("--print", action="store_true", help="print the table, write nothing")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    cases = compare_with_boario()
    table = markdown(cases, time.perf_counter() - start)
    if args.print:
        print(table)
    else:
        write_doc(Path(args.doc), table)
        print(f"wrote the table of {len(cases)} shocks to {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
