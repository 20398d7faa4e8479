"""The headline claims re-tested under alternative settings (``experiments/robustness/``).

Each setting has three sweeps (``scripts/robustness_experiments.py`` writes their files): both
wirings without levers (``results/robustness/SETTING``), hub-and-spokes with the six NDIS levers
on (``SETTING_levers``) and with all of them but stockpiles (``SETTING_levers_nostock``), on
the same seeds. A claim's effect in a setting is a paired difference over replicates (same seed,
same condition), given as its sign and its size as a share of hub-and-spokes' mean; its p-value
(the report's test for the metric, ``report.stats.paired_values``: a paired t test for loss
area and deliveries) is adjusted by Benjamini-Hochberg over one family, every cell of the
robustness table (every claim x setting), so "significant" controls the false discovery rate
of the table as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from scipy import stats

from webmodel.analysis.report.document import number, table
from webmodel.analysis.report.stats import FDR, paired_values

ROBUSTNESS = "robustness"
HUB, WEB = "hub-and-spokes", "production-web"
# A surge difference smaller than this share of hub-and-spokes' deliveries is "hardly any".
HARDLY = 0.02
# Lever bundles on hub-and-spokes (results folder suffix), against the web without levers.
BUNDLES = {"all six levers": "_levers", "all but stockpiles": "_levers_nostock"}

# (column, surge, disruption, metric, reading): the claims' cells; "" is no disruption.
DISRUPTION_CELLS = [
    ("random 10%, 12 wk", "1", "random:0.1@20+12"),
    ("hub's assembly, 8 wk", "1", "assembly:USA@20+8"),
    ("hub's assembly, 26 wk", "1", "assembly:USA@20+26"),
    ("Korea cut off, 4 wk", "1", "state:KOR@20+4"),
    ("Korea cut off, 12 wk", "1", "state:KOR@20+12"),
    ("cyber 30%, 12 wk", "1", "cyber:0.3@20+12"),
]
SURGE_CELLS = [
    ("×2: shells delivered", "delivered.shell_155mm"),
    ("×2: interceptors delivered", "delivered.interceptor"),
    ("×2: loss area", "loss_area"),
]


@dataclass(frozen=True)
class Cell:
    """One claim in one setting: the mean paired difference, its share of the reference mean,
    the raw p-value, and (after the family's adjustment) whether it is a discovery."""

    mean: float
    share: float | None
    p: float
    n: int
    significant: bool = False
    d_z: float | None = None


def _load(folder: Path) -> pd.DataFrame | None:
    files = sorted((folder / "runs").glob("experiment=*/*.parquet"))
    if not files:
        return None
    runs = pd.concat(pd.read_parquet(f) for f in files)
    runs = runs[runs["status"] == "ok"].copy()
    runs["surge_label"] = runs["surge"].map(lambda s: f"{s:g}")
    runs["shock"] = runs["disruptions"].map(lambda d: ",".join(json.loads(d)))
    return runs


def _paired(level: pd.DataFrame, reference: pd.DataFrame, metric: str) -> Cell | None:
    """level − reference, paired on seed (the replicate's common seed), with the interval and
    test the metric calls for (``report.stats.paired_values``)."""
    both = level[["seed", metric]].merge(
        reference[["seed", metric]], on="seed", suffixes=("", "_r")
    )
    if len(both) < 2:
        return None
    p = paired_values(both[metric].to_numpy(float), both[f"{metric}_r"].to_numpy(float), metric)
    if p.difference is None or p.p_value is None:
        return None
    return Cell(p.difference.mean, p.relative, p.p_value, p.difference.n, d_z=p.d_z)


def _select(runs: pd.DataFrame, topology: str, surge: str, shock: str) -> pd.DataFrame:
    return runs[
        (runs["topology"] == topology) & (runs["surge_label"] == surge) & (runs["shock"] == shock)
    ]


def claim_cells(
    base: pd.DataFrame, levered: dict[str, pd.DataFrame | None]
) -> dict[str, Cell | None]:
    """Every claim's cell in one setting; ``levered`` maps a lever bundle's name to its runs."""
    out: dict[str, Cell | None] = {}
    for name, surge, shock in DISRUPTION_CELLS:
        out[name] = _paired(
            _select(base, WEB, surge, shock), _select(base, HUB, surge, shock), "loss_area"
        )
    for name, metric in SURGE_CELLS:
        out[name] = _paired(_select(base, WEB, "2", ""), _select(base, HUB, "2", ""), metric)
    for surge, shock in conditions(base):  # every shock under the surge too
        if surge != "1" and shock:
            out[f"surge + shock: {condition(surge, shock)}"] = _paired(
                _select(base, WEB, surge, shock), _select(base, HUB, surge, shock), "loss_area"
            )
    for bundle, levers in levered.items():  # hub-and-spokes with levers, the web without any
        if levers is None:
            continue
        for surge, shock in conditions(base):
            out[f"{bundle}: {condition(surge, shock)}"] = _paired(
                _select(levers, HUB, surge, shock), _select(base, WEB, surge, shock), "loss_area"
            )
    return out


def conditions(base: pd.DataFrame) -> list[tuple[str, str]]:
    """Every (surge, shock) of a setting's runs but the no-shock one."""
    return [
        (surge, shock)
        for surge in sorted(set(base["surge_label"]), key=float)
        for shock in sorted(set(base["shock"]))
        if not (surge == "1" and shock == "")
    ]


def condition(surge: str, shock: str) -> str:
    return " + ".join(([f"×{surge}"] if surge != "1" else []) + ([shock] if shock else []))


def adjust(cells: dict[str, dict[str, Cell | None]]) -> dict[str, dict[str, Cell | None]]:
    """Benjamini-Hochberg over every cell of every setting: one family, the whole table."""
    keys = [(s, c) for s, row in cells.items() for c, cell in row.items() if cell is not None]
    adjusted = stats.false_discovery_control([cells[s][c].p for s, c in keys]) if keys else []
    out = {s: dict(row) for s, row in cells.items()}
    for (s, c), q in zip(keys, adjusted, strict=True):
        cell = cells[s][c]
        out[s][c] = replace(cell, significant=bool(q <= FDR))
    return out


def _fmt(cell: Cell | None) -> str:
    if cell is None:
        return "–"
    if cell.share is None:
        size = number(cell.mean)
    else:
        size = f"{100 * cell.share:+.{1 if abs(cell.share) < 0.1 else 0}f}%"
    return size if cell.significant else f"{size}°"


def _lower(cell: Cell | None) -> bool:
    return cell is not None and cell.mean < 0 and cell.significant


def verdicts(cells: dict[str, dict[str, Cell | None]]) -> list[list[str]]:
    """Each claim: in how many settings it holds, and each failing cell with the settings it
    fails in and the range of its size there."""
    claims = {
        "Disruption: the web loses less (every shock, peacetime)": lambda c, v: (
            c in {name for name, _, _ in DISRUPTION_CELLS} and not _lower(v)
        ),
        "Disruption under surge: the web loses less (every shock at ×2)": lambda c, v: (
            c.startswith("surge + shock: ") and not _lower(v)
        ),
        f"Surge: hardly any difference (deliveries within ±{HARDLY:.0%})": lambda c, v: (
            c in {name for name, metric in SURGE_CELLS if metric != "loss_area"}
            and v is not None
            and v.significant
            and abs(v.share or 0) > HARDLY
        ),
        **{
            f"NDIS levers beat topology: hub-and-spokes with {bundle} loses less than the web "
            "without levers (every condition)": (
                lambda c, v, bundle=bundle: c.startswith(f"{bundle}: ") and not _lower(v)
            )
            for bundle in BUNDLES
        },
    }
    rows = []
    for claim, fails in claims.items():
        failing: dict[str, list[tuple[str, Cell]]] = {}
        held = tested = 0
        for setting, row in cells.items():
            mine = [(c, v) for c, v in row.items() if v is not None and _in_claim(claim, c)]
            bad = [(c, v) for c, v in mine if fails(c, v)]
            tested += bool(mine)
            held += bool(mine) and not bad
            for c, v in bad:
                failing.setdefault(c.split(": ", 1)[-1] if ": " in c else c, []).append(
                    (setting, v)
                )
        parts = []
        for label, where in failing.items():
            sizes = [v.share if "delivered" in label else v.mean for _, v in where]
            unit = "" if "delivered" not in label else "%"
            scale = 100 if unit else 1
            low, high = (f"{scale * x:+.3g}{unit}" for x in (min(sizes), max(sizes)))
            span = low if low == high else f"{low} to {high}"
            names = (
                "every setting"
                if len(where) == tested
                else ", ".join(setting for setting, _ in where)
            )
            parts.append(f"{label}: {names} ({span})")
        rows.append([claim, f"{held} of {tested}", "; ".join(parts) or "none"])
    return rows


def _in_claim(claim: str, cell: str) -> bool:
    """Whether a cell belongs to a claim (the settings a claim was tested in)."""
    if claim.startswith("NDIS"):
        return any(cell.startswith(f"{b}: ") and f"with {b} " in claim for b in BUNDLES)
    if "under surge" in claim:
        return cell.startswith("surge + shock: ")
    if claim.startswith("Surge"):
        return cell in {name for name, _ in SURGE_CELLS}
    return cell in {name for name, _, _ in DISRUPTION_CELLS}


def robustness_section(results: Path, figures: Path) -> str:
    """The robustness table: each claim (columns) in each setting (rows)."""
    folder = Path(results) / "robustness"
    settings = sorted(p.name for p in folder.glob("*") if p.is_dir() and "_levers" not in p.name)
    out = ["## Robustness of the headline claims (`experiments/robustness/`)", ""]
    if not settings:
        out.append("No results: run the files in experiments/robustness (scripts/run-study.sh).")
        return "\n".join([*out, ""])
    order = ["default"] + [s for s in settings if s != "default"]
    raw: dict[str, dict[str, Cell | None]] = {}
    for setting in order:
        base = _load(folder / setting)
        if base is None:
            continue
        raw[setting] = claim_cells(
            base,
            {bundle: _load(folder / f"{setting}{suffix}") for bundle, suffix in BUNDLES.items()},
        )
    cells = adjust(raw)
    disruption = [c[0] for c in DISRUPTION_CELLS]
    surge = [c[0] for c in SURGE_CELLS]
    out += [
        "**Verdicts** (a cell fails when it is not in the claim's direction with q ≤ 0.05; "
        "for the surge claim, when a delivery difference is significant and larger than "
        f"±{HARDLY:.0%}):",
        "",
        table(
            ["claim", "holds in settings", "fails: cell, settings (size: weeks of demand or %)"],
            verdicts(cells),
            "lrl",
        ),
        "",
    ]
    out += [
        "Paired differences over the replicates (same seeds), as a share of hub-and-spokes' "
        "mean (web − hub; for the levers, hub-and-spokes with the levers − the web without "
        "any). ° not significant after Benjamini–Hochberg at 5% over the family of every cell "
        f"of this section ({sum(v is not None for r in cells.values() for v in r.values())} "
        "cells: every claim × setting, levers included).",
        "",
        "**Disruption (web − hub, loss area) and surge (web − hub at ×2):**",
        "",
    ]
    rows = []
    for s, row in cells.items():
        both = [v for c, v in row.items() if c.startswith("surge + shock: ") and v]
        lower = sum(1 for v in both if v.mean < 0 and v.significant)
        higher = sum(1 for v in both if v.mean > 0 and v.significant)
        rows.append(
            [
                s,
                *(_fmt(row.get(c)) for c in disruption + surge),
                f"{lower} / {higher} of {len(both)}",
            ]
        )
    header = ["setting", *disruption, *surge, "×2 + each shock: web lower / higher"]
    out += [table(header, rows), ""]
    rows = []
    for s, row in cells.items():
        for bundle in BUNDLES:
            present = [(c, v) for c, v in row.items() if c.startswith(f"{bundle}: ") and v]
            if not present:
                continue
            lower = sum(1 for _, v in present if v.mean < 0 and v.significant)
            higher = [c.split(": ", 1)[1] for c, v in present if v.mean > 0 and v.significant]
            worst = max(present, key=lambda cv: cv[1].mean)
            rows.append(
                [
                    s,
                    bundle,
                    f"{lower} of {len(present)}",
                    ", ".join(higher) or "none",
                    f"{number(worst[1].mean)} ({worst[0].split(': ', 1)[1]})",
                ]
            )
    out += [
        "**NDIS levers against topology** (hub-and-spokes with the levers − the web without "
        "them, loss area in weeks of demand, in each condition):",
        "",
        table(
            [
                "setting",
                "levers on hub-and-spokes",
                "conditions where it loses less (significant)",
                "where it loses more (significant)",
                "largest difference (condition)",
            ],
            rows,
            "llrll",
        ),
        "",
        "Every disruption and surge cell, in its own unit (weeks of demand; units delivered):",
        "",
    ]
    cols = disruption + surge
    rows = [
        [s, *(number(cells[s][c].mean) if cells[s].get(c) else "–" for c in cols)] for s in cells
    ]
    out += [table(["setting", *cols], rows), ""]
    out += [
        f"A surge difference within ±{HARDLY:.0%} of hub-and-spokes' deliveries counts as "
        "'hardly any difference'.",
        "",
    ]
    return "\n".join(out)


def robustness_check(out: Path, quick: bool = False) -> str:
    """The robustness section of tables.md from RESULTS/robustness (``out``: RESULTS/findings)."""
    return robustness_section(Path(out).parent, Path(out))
