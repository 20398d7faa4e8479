"""What a run reports: its parameters, its totals, and its per-step series as Parquet."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from webmodel.core.recorder import VARIABLES
from webmodel.io.version import git_commit, package_version

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel


def run_params(model: CoalitionModel) -> dict[str, Any]:
    """Everything needed to reproduce a run."""
    return {
        "scenario": model.coalition.name,
        "topology": model.topology,
        "web_ness": model.web_ness,
        "firms": model.network.n_firms,
        "links": model.network.n_links,
        "steps": model.week,
        "seed": model.seed,
        "surge": model.surge,
        "surge_start": model.surge_start,
        **asdict(model.coalition.parameters),  # every behavioural parameter and policy lever
        "disruptions": [d.disruption.spec for d in model.disruptions],
        "engine": model.engine_name,
    }


def _pair(delivered: float, demanded: float) -> dict[str, float | None]:
    return {
        "delivered": delivered,
        "demanded": demanded,
        "fill_rate": delivered / demanded if demanded > 0 else None,
    }


def totals(model: CoalitionModel) -> dict[str, Any]:
    """End items delivered and demanded over the run: overall, per end item, per state.

    "Demanded" counts new final demand placed during the run; "delivered" counts end items that
    arrived. Units of different end items are added only in "overall".
    """
    delivered = model.series("delivered").sum(axis=0)
    demanded = model.series("demanded").sum(axis=0)
    states, items = model.slot_states, model.slot_items
    by_item: dict[str, Any] = {}
    by_state: dict[str, Any] = {}
    by_state_item: dict[str, dict[str, Any]] = {}
    for item in dict.fromkeys(items):
        mask = np.array([i == item for i in items])
        by_item[item] = _pair(float(delivered[mask].sum()), float(demanded[mask].sum()))
    for state in dict.fromkeys(states):
        mask = np.array([s == state for s in states])
        by_state[state] = _pair(float(delivered[mask].sum()), float(demanded[mask].sum()))
        by_state_item[state] = {
            items[k]: _pair(float(delivered[k]), float(demanded[k])) for k in np.flatnonzero(mask)
        }
    out = {
        "overall": _pair(float(delivered.sum()), float(demanded.sum())),
        "by_end_item": by_item,
        "by_state": by_state,
        "by_state_end_item": by_state_item,
        "final_backlog": float(model.series("final_backlog")[-1].sum()) if model.week else 0.0,
    }
    # Service end items (ship repair): the force-facing metrics, per service item.
    from webmodel.core.services import service_metrics

    services = service_metrics(model)
    if services:
        out["services"] = services
    return out


def series_table(model: CoalitionModel) -> pa.Table:
    """One row per week, one column per variable.

    Column names: ``delivered.USA.shell_155mm`` (per state and end item), ``delivered.shell_155mm``
    (per end item, all states), ``production.tnt`` (per product), ``alpha_mean`` (scalars).
    """
    columns: dict[str, np.ndarray] = {"step": np.arange(1, model.week + 1, dtype=np.int64)}
    products = model.network.product_names
    items = list(dict.fromkeys(model.slot_items))
    for name, (kind, _) in VARIABLES.items():
        values = model.series(name)
        if kind == "scalar":
            columns[name] = values
        elif kind == "product":
            for p, product in enumerate(products):
                columns[f"{name}.{product}"] = values[:, p]
        else:
            for item in items:
                mask = np.array([i == item for i in model.slot_items])
                columns[f"{name}.{item}"] = values[:, mask].sum(axis=1)
            for k, (state, item) in enumerate(
                zip(model.slot_states, model.slot_items, strict=True)
            ):
                columns[f"{name}.{state}.{item}"] = values[:, k]
    table = pa.table(columns)
    return table.replace_schema_metadata(provenance(model))


def provenance(model: CoalitionModel | None = None, **extra: Any) -> dict[str, str]:
    """Key-value metadata that travels with every Parquet file we write."""
    meta: dict[str, Any] = {
        "webmodel_version": package_version(),
        "git_commit": git_commit() or "",
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if model is not None:
        meta["params"] = json.dumps(run_params(model))
        meta["variables"] = json.dumps({k: v[1] for k, v in VARIABLES.items()})
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    return {k: str(v) for k, v in meta.items()}


def temp_beside(path: Path, name: str | None = None) -> tuple[int, str]:
    """A temporary file beside ``path`` (same folder, so the final rename is atomic), with the
    permissions a plain ``open`` would give (mkstemp's 0600 would hide results from a team)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name or path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0o022)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    return fd, tmp


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file by temporary file and rename: never a half-written file."""
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(table: pa.Table, path: str | Path) -> Path:
    """Write to a temporary file beside ``path`` and rename it: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(path)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
