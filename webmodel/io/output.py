"""What a run reports: its parameters, its totals, and its per-step series as Parquet."""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import math
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
from webmodel.io.version import PACKAGE_DIR, git_commit, git_dirty, package_version

if TYPE_CHECKING:
    from webmodel.core.model import CoalitionModel


NOT_IN_GIT = "none (not a git checkout of webmodel; see source_sha256)"


class OutputError(OSError):
    """An output cannot be written (no such folder, no permission, a full disk); the message
    names the file. The command line exits with its own status (3) for it."""

    def __str__(self) -> str:
        return str(self.strerror)


class DamagedFile(RuntimeError):
    """A results file cannot be read back whole (truncated, a flipped bit, not Parquet); the
    message names it. The command line exits with status 3, as for an unwritable output."""

    def __init__(self, path: Path, reason: Exception | str) -> None:
        self.path = path
        super().__init__(f"{path}: damaged ({reason})")


@functools.cache
def source_sha256() -> str:
    """A hash of the package's own source files (``*.py`` and the built-in scenarios): two runs
    with the same hash ran the same code, in or out of git, committed or not."""
    digest = hashlib.sha256()
    files = sorted(p for p in PACKAGE_DIR.rglob("*") if p.suffix in (".py", ".toml"))
    for path in files:
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def source_state() -> dict[str, Any]:
    """What code made a result: version, commit (or why there is none), dirty flag, hash."""
    commit = git_commit()
    return {
        "webmodel_version": package_version(),
        "git_commit": commit or NOT_IN_GIT,
        "git_dirty": git_dirty(),
        "source_sha256": source_sha256(),
    }


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in blocks (memory stays flat for large files)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check_writable(path: str | Path, option: str) -> None:
    """Raise :class:`OutputError` unless a file could be written at ``path`` - before the work,
    so that a run does not end by losing its results. Creates nothing that stays: a probe file
    goes in the nearest existing folder and is removed (missing folders are made on writing)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(errno.EISDIR, f"{option}: {path} is a folder, not a file")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(errno.ENOTDIR, f"{option}: cannot create {path}: {folder} is a file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".webmodel-probe.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise OutputError(
            err.errno or errno.EACCES, f"{option}: cannot write in {folder}: {err.strerror}"
        ) from err


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


def _pair(delivered: float, demanded: float, owed: float) -> dict[str, float | None]:
    return {
        "delivered": delivered,
        "demanded": demanded,
        "fill_rate": delivered / demanded if demanded > 0 else None,
        "final_backlog": owed,
    }


def totals(model: CoalitionModel) -> dict[str, Any]:
    """End items delivered, demanded and owed at the end, per end item and per (state, end item).

    "Demanded" counts new final demand placed during the run; "delivered" counts end items that
    arrived; "final_backlog" what the states had ordered and not yet been shipped at the end.
    Never summed across end items (no "overall", no per-state total): a 155 mm shell and an
    interceptor are not the same unit, and a sum of the two is dominated by the shells.
    """
    delivered = model.series("delivered").sum(axis=0)
    demanded = model.series("demanded").sum(axis=0)
    owed = model.series("final_backlog")[-1] if model.week else np.zeros_like(delivered)
    states, items = model.slot_states, model.slot_items
    by_item: dict[str, Any] = {}
    by_state_item: dict[str, dict[str, Any]] = {}
    for item in dict.fromkeys(items):
        mask = np.array([i == item for i in items])
        by_item[item] = _pair(
            float(delivered[mask].sum()), float(demanded[mask].sum()), float(owed[mask].sum())
        )
    for state in dict.fromkeys(states):
        mask = np.array([s == state for s in states])
        by_state_item[state] = {
            items[k]: _pair(float(delivered[k]), float(demanded[k]), float(owed[k]))
            for k in np.flatnonzero(mask)
        }
    out: dict[str, Any] = {"by_end_item": by_item, "by_state_end_item": by_state_item}
    # Service end items (ship repair): the force-facing metrics, per service item.
    from webmodel.core.services import service_metrics

    services = service_metrics(model)
    if services:
        out["services"] = services
    return out


def end_item_balance(model: CoalitionModel) -> dict[str, dict[str, float]]:
    """Per end item, why "owed at the end" differs from demanded - delivered.

    Demanded - delivered = owed at the end + (in transit at the end - in transit at the
    start): goods shipped but not yet arrived are no longer owed, and the pipeline full at the
    start (shipped before week 1) arrives during the run. ``in_transit_start`` is recovered from
    week 1's records (in transit after week 1, less week 1's shipments, plus its arrivals).
    Never summed across end items: a shell and an interceptor are not the same unit.
    """
    if not model.week:
        return {}
    items = list(dict.fromkeys(model.slot_items))
    products = model.network.product_names
    delivered = model.series("delivered")
    demanded = model.series("demanded")
    owed = model.series("final_backlog")[-1]
    transit = model.series("in_transit")
    shipped = model.series("shipped")
    out: dict[str, dict[str, float]] = {}
    for item in items:
        mask = np.array([i == item for i in model.slot_items])
        p = products.index(item)
        arrived_1 = float(delivered[0, mask].sum())
        out[item] = {
            "demanded": float(demanded[:, mask].sum()),
            "delivered": float(delivered[:, mask].sum()),
            "served": float(model.series("served")[:, mask].sum()),
            "owed_end": float(owed[mask].sum()),
            "in_transit_start": float(transit[0, p] - shipped[0, p] + arrived_1),
            "in_transit_end": float(transit[-1, p]),
        }
    return out


def json_safe(value: Any) -> Any:
    """``value`` (nested dicts, lists) with NaN and infinities as None: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def rounded(value: Any, digits: int = 12) -> Any:
    """``value`` (nested dicts, lists, floats) with every float rounded to ``digits``
    significant digits: float noise such as ``1.0000000000000002`` is far below any metric's
    precision (docs/metrics.md, "Precision"), so JSON shows ``1.0``."""
    if isinstance(value, float):
        if value == 0 or not np.isfinite(value):
            return value
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, np.floating):
        return rounded(float(value), digits)
    return value


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
        "git_commit": git_commit() or NOT_IN_GIT,
        "git_dirty": json.dumps(git_dirty()),
        "source_sha256": source_sha256(),
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


def output_error(err: OSError, path: str | Path) -> OutputError:
    """An OSError met while writing ``path``, as an :class:`OutputError` naming it."""
    if isinstance(err, OutputError):
        return err
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "no space left on the device (the disk or quota is full)"
    return OutputError(err.errno or errno.EIO, f"cannot write {path}: {reason}")


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file by temporary file and rename: never a half-written file."""
    try:
        fd, tmp = temp_beside(path)
    except OSError as err:
        raise output_error(err, path) from err
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise output_error(err, path) from err
        raise


# Every Parquet file we write carries a CRC per data page (readers verify them with
# ``page_checksum_verification=True``), so a flipped bit inside a value is found, not read.
PARQUET_OPTIONS: dict[str, Any] = {"write_page_checksum": True}


def write_parquet_atomic(table: pa.Table, path: str | Path) -> Path:
    """Write to a temporary file beside ``path`` and rename it: never a half-written file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path)
    except OSError as err:
        raise output_error(err, path) from err
    os.close(fd)
    try:
        pq.write_table(table, tmp, **PARQUET_OPTIONS)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise output_error(err, path) from err
        raise
    return path
