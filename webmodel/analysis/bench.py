"""``webmodel bench``: the array engine against the per-agent reference, in the same process.

Speed is reported as a ratio measured in one run on one machine, never as absolute seconds in
tests: the machine is shared and noisy, the ratio much less so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from webmodel.core.model import CoalitionModel
from webmodel.core.recorder import VARIABLES

DEFAULT_SIZES = ((200, 200), (2000, 200), (10000, 500))


@dataclass
class BenchRow:
    firms: int
    links: int
    steps: int
    build_s: float  # wiring the network, creating agents and engine state
    engine_s: float  # running the array engine
    reference_s: float | None  # running the reference (None if skipped)
    ratio: float | None  # reference_s / engine_s
    max_rel_diff: float | None  # largest relative difference over all recorded variables

    def as_dict(self) -> dict:
        return asdict(self)


def worst_difference(a: CoalitionModel, b: CoalitionModel) -> tuple[str, float]:
    """The recorded variable on which two runs differ most, and by how much (relative).

    Each variable is compared relative to the larger of its own largest magnitude and the
    model's natural scale for its kind (weekly final demand, weekly output, output value, 1),
    so that a variable which is zero up to rounding (a stockpile that is never used, a loss
    that never happens) is not judged by its rounding noise.
    """
    net = a.network
    natural = {
        "slot": float(net.baseline_demand.sum()),
        "product": float(net.baseline_output.sum()),
        "scalar": 1.0,
    }
    value = float(np.sum(net.firms.unit_cost * net.baseline_output))
    worst = ("", 0.0)
    for name, (kind, _) in VARIABLES.items():
        x, y = a.series(name), b.series(name)
        if x.shape != y.shape:
            return name, float("inf")
        scale = value if name.endswith("_loss") else natural[kind]
        scale = max(scale, float(np.max(np.abs(y), initial=0.0)))
        diff = float(np.max(np.abs(x - y), initial=0.0)) / scale
        if diff > worst[1]:
            worst = (name, diff)
    return worst


def bench_size(
    firms: int,
    steps: int,
    seed: int = 1,
    max_reference_s: float = 60.0,
    reference_rate: float | None = None,
    disruptions: tuple[str, ...] = (),
) -> tuple[BenchRow, float | None]:
    """Time one size. ``reference_rate`` (seconds per link-step, from a smaller size) decides
    whether the reference would exceed ``max_reference_s``; returns the row and the rate seen."""
    shocks = {"surge": 1.5, "surge_start": 10, "disruptions": list(disruptions)}
    start = time.perf_counter()
    fast = CoalitionModel(firms=firms, steps=steps, rng=seed, **shocks)
    build_s = time.perf_counter() - start
    wiring = fast.network.copy()  # as built: the run may re-source its own copy
    start = time.perf_counter()
    fast.run()
    engine_s = time.perf_counter() - start
    links = fast.network.n_links

    reference_s = ratio = diff = rate = None
    estimate = reference_rate * links * steps if reference_rate else 0.0
    if estimate <= max_reference_s:
        slow = CoalitionModel(network=wiring, steps=steps, engine="reference", rng=seed, **shocks)
        start = time.perf_counter()
        slow.run()
        reference_s = time.perf_counter() - start
        ratio = reference_s / engine_s
        rate = reference_s / (links * steps)
        diff = worst_difference(fast, slow)[1]
    return BenchRow(
        firms=fast.network.n_firms,
        links=links,
        steps=steps,
        build_s=build_s,
        engine_s=engine_s,
        reference_s=reference_s,
        ratio=ratio,
        max_rel_diff=diff,
    ), rate


def run_bench(
    sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES,
    seed: int = 1,
    max_reference_s: float = 60.0,
    progress=None,
    disruptions: tuple[str, ...] = (),
) -> list[BenchRow]:
    rows = []
    rate = None
    # The engine's compiled kernels load (or compile) on their first call in a process: not
    # the first size's cost.
    CoalitionModel(firms=30, steps=2, rng=seed).run()
    for firms, steps in sizes:
        row, seen = bench_size(firms, steps, seed, max_reference_s, rate, disruptions)
        rate = seen or rate
        rows.append(row)
        if progress:
            progress(row)
    return rows


def format_rows(rows: list[BenchRow]) -> str:
    head = (
        f"{'firms':>7} {'links':>7} {'steps':>6} {'build s':>8} {'engine s':>9} "
        f"{'reference s':>12} {'ratio':>7} {'max rel diff':>13}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        ref = f"{r.reference_s:12.3f}" if r.reference_s is not None else f"{'skipped':>12}"
        ratio = f"{r.ratio:6.0f}x" if r.ratio is not None else f"{'-':>7}"
        diff = f"{r.max_rel_diff:13.1e}" if r.max_rel_diff is not None else f"{'-':>13}"
        lines.append(
            f"{r.firms:7d} {r.links:7d} {r.steps:6d} {r.build_s:8.3f} "
            f"{r.engine_s:9.3f} {ref} {ratio} {diff}"
        )
    return "\n".join(lines)
