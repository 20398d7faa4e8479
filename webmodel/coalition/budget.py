"""How much one run, or one sweep, may ask of the machine: estimated before anything is built.

Every size is bounded on its own by its declaration (``firms <= 1,000,000``, every duration
``<= MAX_WEEKS``), but sizes multiply: a million firms in the production web with a 1,040-week
pipeline is a terabyte. So before a model is wired, its size is projected from the scenario -
firms, links (buyer slots x suppliers per input), the shipping pipeline (longest lead time plus
border delay) and the horizon - and compared with a budget; so is a sweep's design before it is
drawn. Over budget, the message names the inputs that drive the estimate and the limit, and an
explicit ``--allow-large`` (a big machine, a deliberate choice) lifts the budget but never the
declared bounds.

The constants below are measured, not guessed (docs/sweeps.md, "Budget"): a run holds about
``BYTES_PER_FIRM`` per firm (agent, state arrays) and ``BYTES_PER_LINK`` per link plus 8 bytes per
link and pipeline week; a step costs about ``SECONDS_PER_LINK_WEEK``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from webmodel.coalition.scenario import Scenario, ScenarioError

MEMORY_BUDGET_BYTES = 4 * 2**30  # one run's projected memory
WORK_BUDGET_LINK_WEEKS = 2 * 10**9  # one run's links x weeks (about two minutes of stepping)
DESIGN_POINTS_BUDGET = 1_000_000  # a sweep's design points (the plan holds each in memory)
RUNS_BUDGET = 1_000_000  # a sweep's runs (points x replicates)

BYTES_PER_FIRM = 1_000
BYTES_PER_LINK = 200
BASE_BYTES = 200 * 2**20  # the interpreter, numpy, Mesa
SECONDS_PER_LINK_WEEK = 6e-8
ALLOW_LARGE = "--allow-large"


class BudgetError(ScenarioError):
    """A run or a sweep would exceed its budget; the message names the inputs and the limit."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems, "size (the budget in docs/sweeps.md)")


def add_budget_option(parser: argparse.ArgumentParser) -> None:
    """The ``--allow-large`` flag: lift the budget (not the declared bounds) on a big machine."""
    parser.add_argument(
        ALLOW_LARGE,
        action="store_true",
        help="run even if the projected memory, work or design size exceeds the budget "
        "(docs/sweeps.md); declared bounds still apply",
    )


@dataclass(frozen=True)
class RunEstimate:
    """A run's projected size."""

    firms: int
    links: int
    pipeline_weeks: int  # the longest lead time plus border delay, plus one
    steps: int

    @property
    def bytes(self) -> int:
        per_link = BYTES_PER_LINK + 8 * self.pipeline_weeks
        return BASE_BYTES + self.firms * BYTES_PER_FIRM + self.links * per_link

    @property
    def link_weeks(self) -> int:
        return self.links * self.steps

    @property
    def seconds(self) -> float:
        return self.link_weeks * SECONDS_PER_LINK_WEEK


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def estimate_run(
    scenario: Scenario,
    *,
    firms: int | None = None,
    steps: int = 104,
    topology: str | None = "production-web",
    web_ness: float | None = None,
    suppliers_per_input: int | None = None,
    border_delay: int | None = None,
) -> RunEstimate:
    """Project a run's size from the scenario, without wiring it (arithmetic on the firm groups).

    Links are bounded above: the wiring splits every buyer slot's need (a firm's input, or a
    state's end item) into ``suppliers_per_input`` parts in the web, one in hub-and-spokes, and
    matches them along the suppliers, so a product has at most parts x (slots + makers) links.
    ``firms`` scales the scenario as :meth:`Scenario.scaled` does.
    """
    params = scenario.parameters
    k = int(suppliers_per_input or params.suppliers_per_input)
    single = (topology == "hub-and-spokes" and web_ness is None) or web_ness == 0
    factor = firms / scenario.n_firms if firms else 1.0
    makers: dict[str, int] = {}
    counts = []
    for g in scenario.firm_groups:
        count = max(1, round(g.count * factor)) if firms else g.count
        counts.append(count)
        makers[g.product] = makers.get(g.product, 0) + count
    by_name = {p.name: p for p in scenario.products}
    slots: dict[str, int] = {}  # buyer slots per product bought
    for g, count in zip(scenario.firm_groups, counts, strict=True):
        for q in by_name[g.product].inputs:
            slots[q] = slots.get(q, 0) + count
    for s in scenario.states:
        for item in s.demand:
            slots[item] = slots.get(item, 0) + 1
    # Matching splits each buyer's need (in k parts in the web) along the suppliers, a
    # northwest-corner rule: at most one link per part plus one per supplier boundary.
    per_part = 1 if single else k
    links = sum(per_part * (n + makers.get(q, 0)) for q, n in slots.items())
    delays = [scenario.default_border_delay, *scenario.border_delays.values()]
    if border_delay is not None:
        delays = [int(border_delay)]
    longest_lead = max((p.lead_time_weeks for p in scenario.products), default=1)
    return RunEstimate(
        firms=sum(counts),
        links=links,
        pipeline_weeks=longest_lead + max(delays, default=0) + 1,
        steps=int(steps),
    )


def check_estimate(estimate: RunEstimate, allow_large: bool = False, where: str = "") -> None:
    """Raise :class:`BudgetError` if the run would exceed the budget (unless allowed)."""
    if allow_large:
        return
    size = (
        f"{estimate.firms:,} firms, about {estimate.links:,} links, a "
        f"{estimate.pipeline_weeks:,}-week shipping pipeline, {estimate.steps:,} weeks"
    )
    lift = f"pass {ALLOW_LARGE} to run it anyway on a machine that has the room"
    prefix = f"{where}: " if where else ""
    problems = []
    if estimate.bytes > MEMORY_BUDGET_BYTES:
        problems.append(
            f"{prefix}firms x links x pipeline weeks: {size} would need about "
            f"{_gib(estimate.bytes)} of memory, over the budget of {_gib(MEMORY_BUDGET_BYTES)}; "
            f"lower firms (--firms, firms[].count), suppliers_per_input, lead times or border "
            f"delays, or {lift}"
        )
    if estimate.link_weeks > WORK_BUDGET_LINK_WEEKS:
        problems.append(
            f"{prefix}links x steps: {size} is about {estimate.link_weeks:.2g} link-weeks of "
            f"work (~{estimate.seconds / 60:,.0f} min), over the budget of "
            f"{WORK_BUDGET_LINK_WEEKS:.0g}; lower --steps or the number of firms, or {lift}"
        )
    if problems:
        raise BudgetError(problems)


def check_run(
    scenario: Scenario, allow_large: bool = False, where: str = "", **run: object
) -> RunEstimate:
    """:func:`estimate_run`, then :func:`check_estimate`; ``run`` as for estimate_run."""
    estimate = estimate_run(scenario, **run)  # type: ignore[arg-type]
    check_estimate(estimate, allow_large, where)
    return estimate


def check_network(network, steps: int, allow_large: bool = False) -> RunEstimate:
    """The same check for a wiring read from a file (its links and lead times are known)."""
    estimate = RunEstimate(
        firms=int(network.n_firms),
        links=int(network.n_links),
        pipeline_weeks=int(network.link_lead.max(initial=0)) + 1,
        steps=int(steps),
    )
    check_estimate(estimate, allow_large, "network")
    return estimate


def check_design(points: int, replicates: int, allow_large: bool = False) -> None:
    """Raise :class:`BudgetError` if a sweep's design is over budget (counted, not drawn)."""
    if allow_large:
        return
    problems = []
    if points > DESIGN_POINTS_BUDGET:
        problems.append(
            f"design: {points:,} design points (factor levels multiplied, or samples x "
            f"crossed levels), over the budget of {DESIGN_POINTS_BUDGET:,}; use fewer levels or "
            f"samples, or pass {ALLOW_LARGE}"
        )
    runs = points * replicates
    if runs > RUNS_BUDGET:
        problems.append(
            f"replicates: {points:,} points x {replicates:,} replicates = {runs:,} runs, over "
            f"the budget of {RUNS_BUDGET:,}; use fewer, or pass {ALLOW_LARGE}"
        )
    if problems:
        raise BudgetError(problems)
