"""Single points of failure: take nodes down one at a time and rank them by what is lost.

A *node* is a (product, state) group (every firm making the product in the state, in that
wiring) or, at firm level, one firm. Each node is taken down for ``duration`` weeks from week
``start`` (``product:NAME:STATE`` or ``firm:NAME`` disruptions) in each wiring, with no surge,
so the loss is the node's alone. The runs are an ordinary sweep: the plan is written as an
experiment file into the output folder and run by the sweep executors (local processes or Dask,
resumable, Parquet with provenance), then summarised here:

* coalition loss: the run's ``loss_area`` (weeks of lost performance, docs/metrics.md);
* each state's loss: the same area over that state's end items only;
* time-to-survive (TTS, Simchi-Levi et al. 2014): weeks from the outage's start during which
  every end item keeps being served in full (from stockpiles, input stocks and the pipeline);
  None when nothing runs short within the horizon;
* time-to-recover (TTR): the node's outage length plus any recovery ramp (given, not measured);
* ``tts_lt_ttr``: the forces run short before the node is back.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from webmodel.coalition.network import Network
from webmodel.coalition.topology import TOPOLOGIES

SHORT_FRACTION = 1e-6  # a week counts as short when served < (1 - SHORT_FRACTION) x demanded
SERIES = "served.*.*"  # per state and end item


@dataclass(frozen=True)
class Node:
    """What one stress run takes down: a (product, state) group, or one firm."""

    kind: str  # "product" or "firm"
    product: str
    state: str
    firm: str | None = None

    @property
    def label(self) -> str:
        return self.firm if self.firm else f"{self.product}@{self.state}"

    @property
    def target(self) -> str:
        return f"firm:{self.firm}" if self.firm else f"product:{self.product}:{self.state}"


def node_disruption(
    node: Node, start: int, duration: int, recovery_weeks: int = 0, severity: float = 1.0
) -> str:
    """The disruption spec that takes ``node`` down.

    Args:
        severity: share of the node's capacity lost; 1.0 (a full outage) is the default and,
            for now, the only value: the disruption kinds take capacity down entirely. The
            argument is here so that partial outages can be passed through once firm
            disruptions take a severity.
    """
    if severity != 1.0:
        raise ValueError(
            f"severity: only 1.0 (a full outage) is available in this version, got {severity}"
        )
    spec = f"{node.target}@{start}+{duration}"
    return spec + (f"~{recovery_weeks}" if recovery_weeks else "")


def nodes_of(network: Network, firms_level: bool = False) -> list[Node]:
    """Every (product, state) group with a firm in this wiring, or every firm."""
    names, codes, firms = network.product_names, network.state_codes, network.firms
    if firms_level:
        return [
            Node("firm", names[p], codes[s], firm)
            for firm, p, s in zip(firms.name, firms.product, firms.state, strict=True)
        ]
    groups = sorted(set(zip(firms.product.tolist(), firms.state.tolist(), strict=True)))
    return [Node("product", names[p], codes[s]) for p, s in groups]


@dataclass
class StressConfig:
    """What a stress test runs (all of it goes into the generated experiment file)."""

    scenario: str | None = None  # a scenario file, a built-in name, or None for the default
    firms: int | None = None
    topologies: tuple[str, ...] = tuple(TOPOLOGIES)
    firms_level: bool = False
    start: int = 10
    duration: int = 8
    recovery_weeks: int = 0
    steps: int = 104
    severity: float = 1.0
    root_seed: int = 1  # the runs' seed is the first one spawned from it (one replicate)
    products: tuple[str, ...] = ()  # only nodes making these products (empty: all)
    base: dict[str, Any] = field(default_factory=dict)  # other model parameters (levers)

    @property
    def ttr(self) -> int:
        return self.duration + self.recovery_weeks

    def check(self) -> None:
        """Raise ValueError naming the field before any work."""
        for name in ("start", "duration", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.recovery_weeks < 0:
            raise ValueError(f"recovery_weeks: must be >= 0, got {self.recovery_weeks}")
        if self.start + self.ttr > self.steps:
            raise ValueError(
                f"steps: {self.steps} weeks end before the node is back (week "
                f"{self.start + self.ttr}); give more steps"
            )
        for topology in self.topologies:
            if topology not in TOPOLOGIES:
                raise ValueError(
                    f"topology: must be one of {', '.join(TOPOLOGIES)}, got {topology!r}"
                )
        for name in ("surge", "surge_start", "disruptions", "topology", "web_ness"):
            if name in self.base:
                raise ValueError(
                    f"{name}: set by the stress test itself (baseline demand, one node down, "
                    "each topology)"
                )
        if self.severity != 1.0:
            node_disruption(Node("product", "", ""), 1, 1, severity=self.severity)

    def scenario_file(self) -> str | None:
        """An absolute path for the experiment file (built-in names resolved to their file)."""
        if self.scenario is None:
            return None
        path = Path(self.scenario)
        if path.is_file():
            return str(path.resolve())
        built_in = resources.files("webmodel.coalition.scenarios").joinpath(f"{self.scenario}.toml")
        if built_in.is_file():
            return str(built_in)
        raise ValueError(f"scenario: {self.scenario}: no such file, nor a built-in scenario")


def model_kwargs(config: StressConfig, topology: str) -> dict[str, Any]:
    """What the runs give the model (to build the same wiring here as in the runs)."""
    from webmodel.coalition.scenario import load_scenario

    return {
        "scenario": load_scenario(config.scenario_file()),
        "firms": config.firms,
        "topology": topology,
        "steps": config.steps,
        **config.base,
    }


def networks(config: StressConfig) -> dict[str, Network]:
    """The wiring of each topology, as the runs will build it (same seed, same parameters)."""
    from webmodel.core.model import CoalitionModel

    return {
        t: CoalitionModel(**model_kwargs(config, t), rng=_run_seed(config)).network
        for t in config.topologies
    }


def _run_seed(config: StressConfig) -> int:
    return wiring_seed(config.root_seed)


def wiring_seed(root_seed: int) -> int:
    """The seed of a one-replicate sweep with this root seed: the stress runs' wiring, and the
    one the dependency map traces, so the two describe the same network."""
    from webmodel.analysis.sweep.plan import run_seeds

    return int(run_seeds(root_seed, 1)[0])


def _toml(value: Any) -> str:
    """A TOML value for the strings, numbers, booleans and lists the plan needs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    raise ValueError(f"cannot write {value!r} into an experiment file")


def experiment_text(config: StressConfig, levels: list[list[str]], name: str = "stress") -> str:
    """The stress test as an experiment file: topology x one disruption list per node."""
    lines = [
        "# Generated by `webmodel stress`: each node taken down alone (docs/exposure.md).",
        f"name = {_toml(name)}",
        f"description = {_toml('Single-point-of-failure stress test')}",
        f"root_seed = {config.root_seed}",
        "replicates = 1",
        'seeds = "common"',
    ]
    scenario = config.scenario_file()
    if scenario is not None:
        lines.append(f"scenario = {_toml(scenario)}")
    lines += ["", "[base]", f"steps = {config.steps}"]
    if config.firms is not None:
        lines.append(f"firms = {config.firms}")
    for key, value in sorted(config.base.items()):
        lines.append(f"{key} = {_toml(value)}")
    lines += [
        "",
        "[design]",
        'kind = "full-factorial"',
        "",
        "[factors]",
        f"topology = {_toml(list(config.topologies))}",
        "disruptions = [",
        *(f"  {_toml(level)}," for level in levels),
        "]",
        "",
        "[output]",
        'metrics = ["loss_area", "min_performance", "time_to_recover", "fill_rate"]',
        f"series = [{_toml(SERIES)}]",
        "",
    ]
    return "\n".join(lines)


@dataclass
class StressResult:
    """A stress test's ranking and per-state table, as plain columns (also in Parquet)."""

    ranking: dict[str, list]
    by_state: dict[str, list]
    out: Path
    complete: bool = True
    pairs: list[dict[str, Any]] = field(default_factory=list)

    def rows(self, topology: str | None = None) -> list[dict[str, Any]]:
        keys = list(self.ranking)
        table = zip(*self.ranking.values(), strict=True)
        rows = [dict(zip(keys, values, strict=True)) for values in table]
        return [r for r in rows if topology is None or r["topology"] == topology]


def run_stress(
    config: StressConfig,
    out: str | Path,
    workers: Any,
    progress: dict[str, Any] | None = None,
    pairs: int = 0,
) -> StressResult:
    """Run (or resume) the stress test into ``out`` on ``workers`` (from ``open_workers``).

    Args:
        pairs: also take down, two at a time, every pair of the top ``pairs`` nodes of each
            wiring's single-node ranking (a second sweep in ``out/pairs``).
    """
    config.check()
    out = Path(out)
    nets = networks(config)
    nodes: dict[str, Node] = {}
    for network in nets.values():
        for node in nodes_of(network, config.firms_level):
            if not config.products or node.product in config.products:
                nodes.setdefault(node.label, node)
    specs = {
        label: node_disruption(
            node, config.start, config.duration, config.recovery_weeks, config.severity
        )
        for label, node in nodes.items()
    }
    levels = [[spec] for spec in specs.values()]
    summary = _sweep(config, levels, out / "single", "stress", workers, progress)
    if not summary.complete:
        return StressResult({}, {}, out, complete=False)
    result = summarise(config, nets, nodes, specs, out / "single")
    _write(result, out, config, "single")
    if pairs >= 2:
        top: list[tuple[str, str]] = []
        for topology in config.topologies:
            ranked = [r["node"] for r in result.rows(topology) if r["n_firms"] > 0]
            for a, b in itertools.combinations(ranked[:pairs], 2):
                top.append(tuple(sorted((a, b))))
        top = list(dict.fromkeys(top))
        levels = [[specs[a], specs[b]] for a, b in top]
        summary = _sweep(config, levels, out / "pairs", "stress-pairs", workers, progress)
        if summary.complete:
            result.pairs = pair_table(config, result, top, specs, out / "pairs")
            _write_pairs(result, out, config)
    return result


def _sweep(config, levels, folder: Path, name: str, workers, progress):
    from webmodel.analysis.sweep.experiment import load_experiment
    from webmodel.analysis.sweep.plan import build_plan
    from webmodel.analysis.sweep.scheduler import run_sweep
    from webmodel.io.output import write_text_atomic

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    text = experiment_text(config, levels, name)
    if not path.is_file() or path.read_text() != text:
        write_text_atomic(path, text)
    plan = build_plan(load_experiment(path))
    return run_sweep(plan, folder, workers, progress=progress)


# --- reading the runs back ------------------------------------------------------------------


def _runs(folder: Path, name: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The runs table's columns and the served series as run x week arrays per slot."""
    import pyarrow.parquet as pq

    runs = pq.read_table(folder / "runs" / f"experiment={name}" / "data.parquet")
    columns = {c: runs.column(c).to_numpy(zero_copy_only=False) for c in runs.column_names}
    failed = columns["status"] != "ok"
    if failed.any():
        first = int(np.flatnonzero(failed)[0])
        raise RuntimeError(f"{failed.sum()} stress runs failed: {columns['error'][first]}")
    # Streamed batch by batch: a 10,000-firm test has tens of millions of series rows.
    series = pq.ParquetFile(folder / "series" / f"experiment={name}" / "data.parquet")
    n_runs = len(columns["run_id"])
    served: dict[str, np.ndarray] = {}
    weeks = int(np.max(columns["steps"]))
    for batch in series.iter_batches(batch_size=1 << 20):
        variable = batch.column("variable")
        names = variable.dictionary.to_pylist()
        index = variable.indices.to_numpy()
        run_id = batch.column("run_id").to_numpy()
        step = batch.column("step").to_numpy()
        value = batch.column("value").to_numpy()
        for k in np.unique(index):
            slot = names[k].removeprefix("served.")
            grid = served.setdefault(slot, np.zeros((n_runs, weeks)))
            mine = index == k
            grid[run_id[mine], step[mine] - 1] = value[mine]
    return columns, served


def _survival(
    served: dict[str, np.ndarray], demand: dict[str, float], start: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per slot ("KOR.shell_155mm"): the shortfall share by run and week, and the TTS by run
    (weeks from ``start`` until the first short week; NaN if none)."""
    short, tts = {}, {}
    for slot, grid in served.items():
        need = demand.get(slot, 0.0)
        if need <= 0:
            continue
        gap = np.maximum(0.0, 1.0 - grid / need)
        gap[:, : start - 1] = 0.0
        short[slot] = gap
        hit = gap > SHORT_FRACTION
        first = np.argmax(hit, axis=1).astype(float)
        first[~hit.any(axis=1)] = np.nan
        tts[slot] = first - (start - 1)
    return short, tts


def _nanmin(arrays: list[np.ndarray], n: int) -> np.ndarray:
    if not arrays:
        return np.full(n, np.nan)
    stacked = np.vstack(arrays)
    out = np.full(n, np.nan)
    some = ~np.isnan(stacked).all(axis=0)
    out[some] = np.nanmin(stacked[:, some], axis=0)
    return out


def _demand(network: Network) -> dict[str, float]:
    return {
        f"{network.state_codes[s]}.{network.product_names[p]}": float(d)
        for s, p, d in zip(
            network.slot_state[network.n_firm_slots :],
            network.slot_product[network.n_firm_slots :],
            network.baseline_demand,
            strict=True,
        )
    }


def _node_firms(network: Network, node: Node) -> int:
    if node.firm:
        return int(node.firm in network.firms.name)
    p = network.product_names.index(node.product)
    s = network.state_codes.index(node.state)
    return int(np.count_nonzero((network.firms.product == p) & (network.firms.state == s)))


def _node_output(network: Network, node: Node) -> float:
    """The node's baseline output (units per week): zero means nobody uses what it makes."""
    if node.firm:
        return float(network.baseline_output[network.firms.name.index(node.firm)])
    p = network.product_names.index(node.product)
    s = network.state_codes.index(node.state)
    mine = (network.firms.product == p) & (network.firms.state == s)
    return float(network.baseline_output[mine].sum())


def summarise(
    config: StressConfig,
    nets: dict[str, Network],
    nodes: dict[str, Node],
    specs: dict[str, str],
    folder: Path,
) -> StressResult:
    """Ranking (by coalition loss, within each wiring) and per-state losses from the runs."""
    columns, served = _runs(folder, "stress")
    by_spec = {spec: label for label, spec in specs.items()}
    labels = [by_spec[json.loads(text)[0]] for text in columns["disruptions"]]
    n = len(labels)
    any_net = next(iter(nets.values()))
    states = any_net.state_codes
    short, tts = _survival(served, _demand(any_net), config.start)
    state_loss, state_tts = {}, {}
    for code in states:
        slots = [k for k in short if k.split(".", 1)[0] == code]
        if not slots:
            continue
        state_loss[code] = np.mean([short[k] for k in slots], axis=0).sum(axis=1)
        state_tts[code] = _nanmin([tts[k] for k in slots], n)
    node_tts = _nanmin(list(tts.values()), n)
    ranking: dict[str, list] = {
        k: []
        for k in (
            "topology",
            "rank",
            "node",
            "kind",
            "product",
            "state",
            "n_firms",
            "baseline_output",
            "coalition_loss",
            "min_performance",
            "tts_weeks",
            "ttr_weeks",
            "tts_lt_ttr",
            "recovered_after_weeks",
            "worst_state",
            "worst_state_loss",
            *(f"loss.{c}" for c in state_loss),
            *(f"tts.{c}" for c in state_loss),
        )
    }
    by_state: dict[str, list] = {
        k: [] for k in ("topology", "state", "rank", "node", "loss", "tts_weeks", "tts_lt_ttr")
    }
    loss = np.nan_to_num(columns["loss_area"].astype(float))
    for topology, network in nets.items():
        mine = [i for i in range(n) if columns["topology"][i] == topology]
        present = [i for i in mine if _node_firms(network, nodes[labels[i]]) > 0]
        order = sorted(present, key=lambda i: (-round(loss[i], 12), labels[i]))
        for rank, i in enumerate(order, start=1):
            node = nodes[labels[i]]
            worst = max(state_loss, key=lambda c: (round(state_loss[c][i], 12), c))
            t = node_tts[i]
            row = {
                "topology": topology,
                "rank": rank,
                "node": node.label,
                "kind": node.kind,
                "product": node.product,
                "state": node.state if not node.firm else states[_firm_state(network, node)],
                "n_firms": _node_firms(network, node),
                "baseline_output": _node_output(network, node),
                "coalition_loss": float(loss[i]),
                "min_performance": _float(columns["min_performance"][i]),
                "tts_weeks": None if np.isnan(t) else int(t),
                "ttr_weeks": config.ttr,
                "tts_lt_ttr": bool(not np.isnan(t) and t < config.ttr),
                "recovered_after_weeks": _float(columns["time_to_recover"][i]),
                "worst_state": worst,
                "worst_state_loss": float(state_loss[worst][i]),
            }
            for code in state_loss:
                row[f"loss.{code}"] = float(state_loss[code][i])
                ts = state_tts[code][i]
                row[f"tts.{code}"] = None if np.isnan(ts) else int(ts)
            for key, value in row.items():
                ranking[key].append(value)
        for code in state_loss:
            order = sorted(present, key=lambda i: (-round(state_loss[code][i], 12), labels[i]))
            for rank, i in enumerate(order, start=1):
                ts = state_tts[code][i]
                by_state["topology"].append(topology)
                by_state["state"].append(code)
                by_state["rank"].append(rank)
                by_state["node"].append(labels[i])
                by_state["loss"].append(float(state_loss[code][i]))
                by_state["tts_weeks"].append(None if np.isnan(ts) else int(ts))
                by_state["tts_lt_ttr"].append(bool(not np.isnan(ts) and ts < config.ttr))
    return StressResult(ranking, by_state, folder.parent)


def _firm_state(network: Network, node: Node) -> int:
    return int(network.firms.state[network.firms.name.index(node.firm)])


def _float(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(x) else x


def pair_table(
    config: StressConfig,
    result: StressResult,
    pairs: list[tuple[str, str]],
    specs: dict[str, str],
    folder: Path,
) -> list[dict[str, Any]]:
    """Joint loss of each pair beside the sum of its two single losses (the interaction)."""
    columns, _ = _runs(folder, "stress-pairs")
    single = {(r["topology"], r["node"]): r["coalition_loss"] for r in result.rows()}
    by_spec = {spec: label for label, spec in specs.items()}
    out = []
    for i, text in enumerate(columns["disruptions"]):
        a, b = (by_spec[s] for s in json.loads(text))
        topology = columns["topology"][i]
        if (topology, a) not in single or (topology, b) not in single:
            continue  # one of the pair is absent from this wiring
        joint = float(np.nan_to_num(float(columns["loss_area"][i])))
        alone = single[(topology, a)] + single[(topology, b)]
        out.append(
            {
                "topology": topology,
                "pair": f"{a} + {b}",
                "joint_loss": joint,
                "sum_of_singles": alone,
                "interaction": joint - alone,
            }
        )
    out.sort(key=lambda r: (r["topology"], -r["joint_loss"]))
    return out


def _write(result: StressResult, out: Path, config: StressConfig, which: str) -> None:
    import pyarrow as pa

    from webmodel.io.output import provenance, write_parquet_atomic

    meta = provenance(stress_config=json.dumps(asdict(config), default=str), runs=which)
    for name, cols in (("ranking", result.ranking), ("by_state", result.by_state)):
        table = pa.table(cols)
        write_parquet_atomic(table.replace_schema_metadata(meta), out / f"{name}.parquet")


def _write_pairs(result: StressResult, out: Path, config: StressConfig) -> None:
    import pyarrow as pa

    from webmodel.io.output import provenance, write_parquet_atomic

    meta = provenance(stress_config=json.dumps(asdict(config), default=str), runs="pairs")
    table = pa.Table.from_pylist(result.pairs) if result.pairs else pa.table({})
    write_parquet_atomic(table.replace_schema_metadata(meta), out / "pairs.parquet")
