"""``webmodel bench``: what a run costs, and the array engine against the per-agent reference.

Times are CPU seconds of this process (``time.process_time``), not wall-clock: the machine may
be shared, and CPU time is what a run costs whatever else runs beside it. Ratios (reference /
engine) are measured in the same process. Reported:

* per size: build, engine and reference seconds, their ratio and largest difference;
* the step's cost as a least-squares fit over the sizes run - ns per link-step plus µs fixed
  per step (``engine_s / steps = fixed + per_link x links``);
* the disruption-heavy case: a 10,000-firm coalition under a 1.5x surge, 10 % of firms down
  for 10 weeks and Korea cut off for 20, re-sourcing all along;
* start-up: ``webmodel run --steps 1`` as a new process (wall and the child's CPU seconds).
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from webmodel.core.model import CoalitionModel, load_kernels
from webmodel.core.recorder import VARIABLES

DEFAULT_SIZES = ((200, 200), (2000, 200), (10000, 500))
HEAVY_SIZE = (10000, 500)
HEAVY_DISRUPTIONS = ("random:0.1@20+10", "state:KOR@30+20")
SHOCKS = {"surge": 1.5, "surge_start": 10}
# The reference runs at least this many steps before its projected time can stop it.
REFERENCE_TRIAL_STEPS = 2
STARTUP_RUNS = 3

CLOCK_NOTE = (
    "seconds are CPU seconds of this process (time.process_time; start-up: of the child "
    "process), not wall-clock - the machine may be shared"
)


@dataclass
class BenchRow:
    firms: int
    links: int  # after the run (re-sourcing may add some)
    steps: int
    build_s: float  # wiring the network, creating agents and engine state
    engine_s: float  # running the array engine
    reference_s: float | None  # running the reference (None if skipped)
    ratio: float | None  # reference_s / engine_s
    max_rel_diff: float | None  # largest relative difference over all recorded variables
    engine_us_per_step: float = 0.0
    state_mb: float = 0.0  # the model's arrays: network, engine state, recorder
    peak_rss_mb: float = 0.0  # this process's peak resident memory so far
    reference_note: str = ""  # why the reference was skipped

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class StepCost:
    """``engine_s / steps = us_fixed_per_step + ns_per_link_step x links``, fitted."""

    ns_per_link_step: float
    us_fixed_per_step: float | None  # None: one size only, no fit (all cost put on links)
    sizes: int  # distinct sizes fitted

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class HeavyRow:
    """The disruption-heavy case: the array engine only."""

    firms: int
    steps: int
    disruptions: tuple[str, ...]
    links_built: int
    links_after: int
    substitutions: int
    shifts: int
    build_s: float
    run_s: float
    resourcing_s: float  # of run_s: searches, switch-overs and shift returns (their rewires too)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Startup:
    """``webmodel run --steps 1`` as a new process, median of ``runs``."""

    command: str
    wall_s: float
    cpu_s: float
    runs: int

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


def state_megabytes(model: CoalitionModel) -> float:
    """The numpy arrays a model holds (network, firms, engine state, recorder), in MB."""
    total = 0
    seen: set[int] = set()
    for owner in (model.network, model.network.firms, model.engine, model.recorder):
        for value in vars(owner).values():
            arrays = value.values() if isinstance(value, dict) else [value]
            for array in arrays:
                if isinstance(array, np.ndarray) and id(array) not in seen:
                    seen.add(id(array))
                    total += array.nbytes if array.base is None else 0
    return total / 1e6


def peak_rss_megabytes() -> float:
    """This process's peak resident memory (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1024


def bench_size(
    firms: int,
    steps: int,
    seed: int = 1,
    max_reference_s: float = 60.0,
    reference_rate: float | None = None,
    disruptions: tuple[str, ...] = (),
) -> tuple[BenchRow, float | None]:
    """Time one size. The reference runs only if ``max_reference_s`` > 0 and it is not
    projected to exceed it - from ``reference_rate`` (seconds per link-step, from a smaller
    size) or, lacking one, from its own first steps (it stops once the projection is over).
    Returns the row and the reference's rate, if it ran."""
    shocks = {**SHOCKS, "disruptions": list(disruptions)}
    start = time.process_time()
    fast = CoalitionModel(firms=firms, steps=steps, rng=seed, **shocks)
    build_s = time.process_time() - start
    wiring = fast.network.copy()  # as built: the run may re-source its own copy
    start = time.process_time()
    fast.run()
    engine_s = time.process_time() - start
    links = fast.network.n_links

    reference_s = ratio = diff = rate = None
    note = ""
    estimate = reference_rate * wiring.n_links * steps if reference_rate else None
    if max_reference_s <= 0:
        note = "not asked for (--max-reference-seconds 0)"
    elif estimate is not None and estimate > max_reference_s:
        note = f"projected {estimate:.0f} s > {max_reference_s:g} s"
    else:
        slow = CoalitionModel(network=wiring, steps=steps, engine="reference", rng=seed, **shocks)
        start = time.process_time()
        for done in range(1, steps + 1):
            slow.step()
            projected = (time.process_time() - start) / done * steps
            if done >= REFERENCE_TRIAL_STEPS and projected > max_reference_s:
                note = f"stopped after {done} steps: projected {projected:.0f} s"
                break
        else:
            reference_s = time.process_time() - start
            ratio = reference_s / engine_s
            rate = reference_s / (wiring.n_links * steps)
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
        engine_us_per_step=engine_s / steps * 1e6,
        state_mb=state_megabytes(fast),
        peak_rss_mb=peak_rss_megabytes(),
        reference_note=note,
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
    load_kernels()  # not the first size's cost
    for firms, steps in sizes:
        row, seen = bench_size(firms, steps, seed, max_reference_s, rate, disruptions)
        rate = seen or rate
        rows.append(row)
        if progress:
            progress(row)
    return rows


def fit_step_cost(rows: list[BenchRow]) -> StepCost | None:
    """Least squares of engine seconds per step on links, over the sizes run."""
    if not rows:
        return None
    links = np.array([r.links for r in rows], dtype=float)
    per_step = np.array([r.engine_s / r.steps for r in rows])
    if len(set(links.tolist())) < 2:
        return StepCost(float(np.mean(per_step / links)) * 1e9, None, 1)
    design = np.column_stack((links, np.ones_like(links)))
    (per_link, fixed), *_ = np.linalg.lstsq(design, per_step, rcond=None)
    return StepCost(float(per_link) * 1e9, float(fixed) * 1e6, len(set(links.tolist())))


def bench_heavy(
    firms: int = HEAVY_SIZE[0],
    steps: int = HEAVY_SIZE[1],
    seed: int = 1,
    disruptions: tuple[str, ...] = HEAVY_DISRUPTIONS,
) -> HeavyRow:
    """The disruption-heavy case: build and run the array engine, CPU seconds."""
    start = time.process_time()
    model = CoalitionModel(
        firms=firms, steps=steps, rng=seed, **SHOCKS, disruptions=list(disruptions)
    )
    build_s = time.process_time() - start
    links_built = model.network.n_links
    resourcing = [0.0]
    for name in ("_resourcing_search", "_resourcing_qualification", "_return_shifts"):
        _time_into(model, name, resourcing)
    start = time.process_time()
    model.run()
    run_s = time.process_time() - start
    return HeavyRow(
        firms=model.network.n_firms,
        steps=steps,
        disruptions=tuple(disruptions),
        links_built=links_built,
        links_after=model.network.n_links,
        substitutions=len(model.substitutions),
        shifts=len(model.shift_log),
        build_s=build_s,
        run_s=run_s,
        resourcing_s=resourcing[0],
    )


def _time_into(model: CoalitionModel, name: str, total: list[float]) -> None:
    """Make this model's method ``name`` add its CPU seconds to ``total[0]`` (the step and the
    Mesa events look the method up on the model, so they call the timed one)."""
    method = getattr(model, name)

    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            total[0] += time.process_time() - start

    setattr(model, name, timed)


def bench_startup(runs: int = STARTUP_RUNS) -> Startup:
    """``webmodel run --steps 1`` in a new process: wall seconds and the child's CPU seconds
    (median of ``runs``)."""
    script = Path(sys.executable).with_name("webmodel")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "webmodel.cli"]
    if not script.exists() and shutil.which("webmodel"):
        command = [str(shutil.which("webmodel"))]
    command += ["run", "--steps", "1"]
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return Startup(
        "webmodel run --steps 1", statistics.median(walls), statistics.median(cpus), runs
    )


def format_rows(rows: list[BenchRow]) -> str:
    head = (
        f"{'firms':>7} {'links':>8} {'steps':>6} {'build s':>8} {'engine s':>9} "
        f"{'us/step':>8} {'state MB':>9} {'reference s':>12} {'ratio':>7} {'max rel diff':>13}"
    )
    lines = [head, "-" * len(head)]
    notes = []
    for r in rows:
        ref = f"{r.reference_s:12.3f}" if r.reference_s is not None else f"{'skipped':>12}"
        ratio = f"{r.ratio:6.0f}x" if r.ratio is not None else f"{'-':>7}"
        diff = f"{r.max_rel_diff:13.1e}" if r.max_rel_diff is not None else f"{'-':>13}"
        lines.append(
            f"{r.firms:7d} {r.links:8d} {r.steps:6d} {r.build_s:8.3f} "
            f"{r.engine_s:9.3f} {r.engine_us_per_step:8.0f} {r.state_mb:9.1f} {ref} {ratio} {diff}"
        )
        if r.reference_note:
            notes.append(f"  reference at {r.firms} firms: {r.reference_note}")
    return "\n".join(lines + notes)


def format_report(
    rows: list[BenchRow],
    cost: StepCost | None,
    heavy: HeavyRow | None,
    startup: Startup | None,
) -> str:
    parts = [format_rows(rows)] if rows else []
    if cost is not None:
        fixed = (
            f" + {cost.us_fixed_per_step:.0f} us fixed per step"
            if cost.us_fixed_per_step is not None
            else " (one size: no fit, all cost on links)"
        )
        noisy = cost.ns_per_link_step <= 0 or (cost.us_fixed_per_step or 0.0) < 0
        parts.append(
            f"step cost (least squares over {cost.sizes} sizes): "
            f"{cost.ns_per_link_step:.1f} ns per link-step{fixed}"
            + (" - noise: the sizes are too small or too close to fit" if noisy else "")
        )
    if heavy is not None:
        parts.append(
            f"disruption-heavy: {heavy.firms} firms x {heavy.steps} weeks, x1.5 surge, "
            f"{' '.join(heavy.disruptions)}: run {heavy.run_s:.2f} s, of which re-sourcing "
            f"{heavy.resourcing_s:.2f} s (build {heavy.build_s:.2f} s;"
            f" links {heavy.links_built} -> {heavy.links_after}, {heavy.substitutions} "
            f"substitutions, {heavy.shifts} shifts)"
        )
    if startup is not None:
        parts.append(
            f"start-up: `{startup.command}` {startup.wall_s:.2f} s wall, {startup.cpu_s:.2f} s "
            f"CPU (median of {startup.runs} new processes)"
        )
    parts.append(
        f"({CLOCK_NOTE}; engine = array engine; reference = per-agent reference on the same "
        "network; ratio = reference / engine; build = wiring + agents + engine state; "
        "state MB = the model's arrays; a 1.5x surge from week 10)"
    )
    return "\n\n".join(textwrap.fill(p, 100) if "\n" not in p else p for p in parts)
