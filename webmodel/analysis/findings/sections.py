"""One section of the findings tables per experiment: the numbers that answer its question.

Each function reads one sweep's results, writes its figure(s) and returns Markdown: tables of
estimates with 95% intervals (pooled as each metric asks: ``report.stats.estimate``) and of
paired differences (production web minus hub-and-spokes on the same seeds) with their effect
sizes (relative difference, Cohen's d_z) and Benjamini-Hochberg q-values within a family that
each table states (``report.stats.control_fdr``; "(n.s.)" / "°": q > 0.05). The prose that
interprets them is in ``results/FINDINGS.md``; these sections are regenerated from the results
and hold no judgement, only numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webmodel.analysis.findings import charts
from webmodel.analysis.findings.effects import (
    HUB,
    WEB,
    LabelledRuns,
    kind_and_duration,
    power_law_exponent,
)
from webmodel.analysis.report.document import cell, number, p_text, table
from webmodel.analysis.report.figures import OKABE_ITO, style
from webmodel.analysis.report.stats import Estimate, PairedDifference, family_note
from webmodel.coalition.parameters import TOPOLOGIES

SHORT = {HUB: "hub-and-spokes", WEB: "web"}


def _diff(p: PairedDifference) -> str:
    mark = "" if p.significant else " (n.s.)"
    return cell(p.difference) + mark


def _share(x: float | None) -> str:
    return "0%" if x is None else f"{x:.0%}"  # no pairs: none higher (or lower)


def _pct(p: PairedDifference) -> str:
    """The paired (mean) difference as a percentage of the reference's mean."""
    if p.relative is None or p.at_reference is None or abs(p.at_reference.mean) < 1e-9:
        return "–"
    return f"{100 * p.relative:+.2f}%"


def _dz(p: PairedDifference) -> str:
    """Cohen's d_z (mean difference over the differences' spread); "exact" with no spread."""
    if p.d_z is None:
        return "exact" if p.difference is not None and p.difference.mean != 0 else "–"
    return f"{p.d_z:+.2f}"


def _q(p: PairedDifference) -> str:
    return p_text(p.q_value)


EFFECT_HEADER = ["Δ%", "d_z", "q"]


def _effects(p: PairedDifference) -> list[str]:
    """Relative difference, standardised effect and BH q-value: size beside significance."""
    return [_pct(p), _dz(p), _q(p)]


def _family(cells) -> str:
    values = list(cells.values()) if isinstance(cells, dict) else list(cells)
    return f"*{family_note(values)}.*"


def _hub_web_means(p: PairedDifference) -> str:
    """The paired runs' means, hub-and-spokes / web."""
    hub, web = p.at_reference, p.at_level
    return f"{number(hub.mean if hub else None)} / {number(web.mean if web else None)}"


def _condition_label(surge: str, disruption: str) -> str:
    parts = [] if surge in ("1", "default") else [f"surge ×{surge}"]
    parts += [] if disruption == "none" else [disruption]
    return " + ".join(parts) or "no shock"


# --- surge -----------------------------------------------------------------------------------
def surge_section(runs: LabelledRuns, figures: Path) -> str:
    metrics = [
        ("time_to_surge_target", "weeks to 90% of surged demand"),
        ("fill_rate", "fill rate (delivered / demanded, 2 years)"),
        ("delivered.shell_155mm", "155mm shells delivered"),
        ("delivered.interceptor", "interceptors delivered"),
        ("peak_over_baseline", "peak deliveries / baseline"),
        ("backlog_end", "backlog at 2 years (weeks of demand)"),
    ]
    out = ["## Surge (`experiments/surge.toml`)", ""]
    for name, label in metrics:
        cells = runs.web_minus_hub_cells(name, "surge")
        rows = [
            [
                f"×{level}",
                cell(p.at_reference),
                cell(p.at_level),
                _diff(p),
                *_effects(p),
                _share(p.share_positive),
            ]
            for level, p in cells.items()
        ]
        out += [f"**{label}** (`{name}`)", ""]
        header = ["surge", "hub-and-spokes", "web", "web − hub [95% CI]", *EFFECT_HEADER]
        out += [table([*header, "web higher"], rows), "", _family(cells), ""]
    out += [_surge_figure(runs, figures), ""]
    return "\n".join(out)


def _surge_figure(runs: LabelledRuns, figures: Path) -> str:
    variables = [v for v in runs.results.series_variables if v.startswith("delivered.")]
    levels = [lv for lv in runs.levels("surge") if lv != "1"]
    if not variables or not levels:
        return ""
    with style():
        fig, axes = charts.new_figure(len(levels) * len(variables), columns=len(levels))
        for row, variable in enumerate(variables):
            run_id, step, value = runs.results.series(variable)
            for column, level in enumerate(levels):
                ax = axes[row * len(levels) + column]
                for topology in TOPOLOGIES:
                    chosen = np.flatnonzero(runs.where(surge=level, topology=topology))
                    keep = np.isin(run_id, runs.results.column("run_id")[chosen].astype(int))
                    steps = np.unique(step[keep])
                    weekly = value[keep].reshape(-1, len(steps))  # runs x weeks
                    weekly = weekly / weekly[:, :1]  # week 1 = baseline demand
                    estimates = [Estimate.of(weekly[:, j]) for j in range(len(steps))]
                    charts.band(
                        ax, steps, estimates, SHORT[topology], charts.TOPOLOGY_COLOURS[topology], ""
                    )
                ax.axhline(float(level), color="grey", linewidth=0.6, linestyle="--")
                ax.set_title(f"{variable.split('.', 1)[1]}, surge ×{level}")
                ax.set_xlabel("week")
                if column == 0:
                    ax.set_ylabel("deliveries / baseline")
        axes[0].legend(frameon=False)
        name = charts.write_figure(fig, figures, "surge_deliveries")
    return f"![Weekly deliveries under surge]({name})"


# --- disruptions -----------------------------------------------------------------------------
def disruptions_section(runs: LabelledRuns, figures: Path) -> str:
    by_kind: dict[str, list[tuple[int, str]]] = {}
    for level in runs.levels("disruptions"):
        parsed = kind_and_duration(level)
        if parsed:
            by_kind.setdefault(parsed[0], []).append((parsed[1], level))
    out = ["## Disruptions (`experiments/disruptions.toml`)", ""]
    out += ["Loss area (weeks of full demand lost), paired web − hub-and-spokes:", ""]
    loss = runs.web_minus_hub_cells("loss_area", "disruptions")
    worst = runs.web_minus_hub_cells("min_performance", "disruptions")
    recover = runs.web_minus_hub_cells("time_to_recover", "disruptions")
    rows = []
    for kind, levels in by_kind.items():
        for duration, level in sorted(levels):
            p = loss[level]
            rows.append(
                [
                    kind,
                    str(duration),
                    cell(p.at_reference),
                    cell(p.at_level),
                    _diff(p),
                    *_effects(p),
                    _share(p.share_negative),
                ]
            )
    header = [
        "disruption",
        "weeks",
        "loss, hub-and-spokes",
        "loss, web",
        "web − hub [95% CI]",
        *EFFECT_HEADER,
        "web lower",
    ]
    out += [table(header, rows, "lrrrrrrrr"), "", _family(loss), ""]
    out += ["Worst week (min performance) and weeks to recover, hub-and-spokes / web:", ""]
    rows = []
    for kind, levels in by_kind.items():
        for duration, level in sorted(levels):
            q, r = worst[level], recover[level]
            rows.append(
                [
                    kind,
                    str(duration),
                    cell(q.at_reference),
                    cell(q.at_level),
                    _diff(q),
                    _q(q),
                    cell(r.at_reference),
                    cell(r.at_level),
                    _q(r),
                ]
            )
    header = [
        "disruption",
        "weeks",
        "worst week, hub",
        "worst week, web",
        "web − hub",
        "q",
        "weeks to recover, hub",
        "weeks to recover, web",
        "q",
    ]
    out += [table(header, rows, "lrrrrrrrr"), "", _family(worst), "", _family(recover), ""]
    out += ["Growth of loss with duration, loss ∝ duration^b (log-log fit over runs):", ""]
    rows = []
    for kind, levels in by_kind.items():
        row = [kind]
        for topology in TOPOLOGIES:
            d, loss = [], []
            for duration, level in levels:
                values = runs.values("loss_area", runs.where(disruptions=level, topology=topology))
                d += [duration] * len(values)
                loss += list(values)
            b, low, high = power_law_exponent(np.array(d, float), np.array(loss, float))
            row.append(f"{number(b)} [{number(low)}, {number(high)}]")
        rows.append(row)
    out += [table(["disruption", "b, hub-and-spokes", "b, web"], rows), ""]
    out += ["Amplification (total / directly lost output) by duration, hub-and-spokes / web:", ""]
    durations = sorted({d for levels in by_kind.values() for d, _ in levels})
    rows = []
    for kind, levels in by_kind.items():
        at = dict(levels)
        cells = []
        for duration in durations:
            p = runs.web_minus_hub("amplification", disruptions=at.get(duration, ""))
            cells.append("–" if p.at_reference is None else _hub_web_means(p))
        rows.append([kind, *cells])
    out += [table(["disruption"] + [f"{d} weeks" for d in durations], rows), ""]
    out += [_disruption_figure(runs, by_kind, figures), ""]
    return "\n".join(out)


def _disruption_figure(runs: LabelledRuns, by_kind: dict, figures: Path) -> str:
    with style():
        fig, axes = charts.new_figure(len(by_kind), columns=4)
        for ax, (kind, levels) in zip(axes, by_kind.items(), strict=True):
            levels = sorted(levels)
            for topology in TOPOLOGIES:
                estimates = [
                    runs.estimate("loss_area", disruptions=lv, topology=topology)
                    for _, lv in levels
                ]
                x = [d for d, _ in levels]
                charts.band(ax, x, estimates, SHORT[topology], charts.TOPOLOGY_COLOURS[topology])
            ax.set_title(kind)
            ax.set_xlabel("duration (weeks)")
        axes[0].set_ylabel("loss area (weeks of demand)")
        axes[0].legend(frameon=False)
        name = charts.write_figure(fig, figures, "disruptions_loss")
    return f"![Loss by disruption kind and duration]({name})"


# --- web_ness --------------------------------------------------------------------------------
def web_ness_section(runs: LabelledRuns, figures: Path) -> str:
    dial = runs.levels("web_ness")
    conditions = [(s, d) for s in runs.levels("surge") for d in runs.levels("disruptions")]
    out = ["## The dial from hub-and-spokes to web (`experiments/web_ness.toml`)", ""]
    rows = []
    panels = []
    fulls = runs.controlled(
        {
            (s, d): runs.paired("loss_area", "web_ness", dial[0], dial[-1], surge=s, disruptions=d)
            for s, d in conditions
        },
        f"the {len(conditions)} conditions of web_ness.toml, loss_area at web_ness "
        f"{dial[-1]} − {dial[0]}",
    )
    steps = runs.controlled(
        {
            (s, d, i): runs.paired(
                "loss_area", "web_ness", dial[i], dial[i + 1], surge=s, disruptions=d
            )
            for s, d in conditions
            for i in range(len(dial) - 1)
        },
        f"the {len(conditions) * (len(dial) - 1)} steps of the dial (each condition), loss_area",
    )
    for s, d in conditions:
        estimates = [runs.estimate("loss_area", web_ness=w, surge=s, disruptions=d) for w in dial]
        if all(e is None for e in estimates):
            continue
        means = np.array([np.nan if e is None else e.mean for e in estimates])
        full = fulls[(s, d)]
        benefit = means[0] - means[-1]
        steps_up = [steps[(s, d, i)] for i in range(len(dial) - 1)]
        worse = [f"{dial[i]}→{dial[i + 1]}" for i, p in enumerate(steps_up) if _rises(p)]
        saturation = "–"
        if benefit > 0:
            reached = np.flatnonzero(means[0] - means >= 0.9 * benefit)
            saturation = dial[reached[0]] if len(reached) else "–"
        rows.append(
            [
                _condition_label(s, d),
                number(means[0]),
                number(means[len(dial) // 2]),
                number(means[-1]),
                _diff(full),
                ", ".join(worse) or "none",
                str(saturation),
            ]
        )
        panels.append((_condition_label(s, d), estimates))
    header = [
        "condition",
        f"loss at {dial[0]}",
        f"at {dial[len(dial) // 2]}",
        f"at {dial[-1]}",
        f"{dial[-1]} − {dial[0]} [95% CI]",
        "steps where loss rises (q ≤ 0.05)",
        "90% of the benefit by",
    ]
    out += [table(header, rows, "lrrrrll"), "", _family(fulls), "", _family(steps), ""]
    x = [float(w) for w in dial]
    name = charts.condition_panels(
        panels, x, "web_ness", "loss area (weeks of demand)", figures, "web_ness_loss"
    )
    out += [f"![Loss along the web_ness dial]({name})", ""]
    return "\n".join(out)


def _rises(p: PairedDifference) -> bool:
    d = p.difference
    return d is not None and d.mean > 0 and p.significant


# --- cross-border friction -------------------------------------------------------------------
def fms_friction_section(runs: LabelledRuns, figures: Path) -> str:
    delays = runs.levels("border_delay")
    conditions = [(s, d) for s in runs.levels("surge") for d in runs.levels("disruptions")]
    out = ["## Cross-border friction (`experiments/fms_friction.toml`)", ""]
    out += ["Paired web − hub-and-spokes loss area (negative: the web loses less):", ""]
    rows, panels = [], []
    grid = runs.controlled(
        {
            (s, d, b): runs.web_minus_hub("loss_area", border_delay=b, surge=s, disruptions=d)
            for s, d in conditions
            for b in delays
        },
        f"the {len(conditions) * len(delays)} cells (delay x condition) of fms_friction.toml, "
        "loss_area",
    )
    for s, d in conditions:
        pairs = [grid[(s, d, b)] for b in delays]
        if all(p.difference is None or p.difference.mean == 0 for p in pairs):
            rows.append([_condition_label(s, d)] + ["0"] * len(delays) + ["no loss"])
            continue
        vanish = next(
            (b for b, p in zip(delays, pairs, strict=True) if not _web_better(p)), "never"
        )
        rows.append([_condition_label(s, d)] + [_diff_short(p) for p in pairs] + [str(vanish)])
        panels.append((_condition_label(s, d), [p.difference for p in pairs]))
    header = ["condition"] + [f"delay {b}" for b in delays] + ["web no longer better at"]
    out += [table(header, rows, "l" + "r" * (len(delays) + 1)), "", _family(grid), ""]
    x = [float(b) for b in delays]
    name = charts.condition_panels(
        panels,
        x,
        "cross-border delay (weeks)",
        "Δ loss area, web − hub",
        figures,
        "fms_friction_advantage",
        columns=3,
        zero_line=True,
    )
    out += [f"![The web's advantage against cross-border delay]({name})", ""]
    return "\n".join(out)


def _web_better(p: PairedDifference) -> bool:
    d = p.difference
    return d is not None and d.mean < 0 and p.significant


def _diff_short(p: PairedDifference) -> str:
    d = p.difference
    if d is None:
        return "–"
    mark = "" if p.significant else "°"
    return f"{number(d.mean)}{mark}"


# --- contracting -----------------------------------------------------------------------------
def contracting_section(runs: LabelledRuns, figures: Path) -> str:
    conditions = [(s, d) for s in runs.levels("surge") for d in runs.levels("disruptions")]
    out = ["## Contracting (`experiments/contracting.toml`)", ""]
    out += [
        "Loss area by topology and contracting rule; the effect of the rule within each "
        "topology (best-value − lowest-cost) and of the topology within each rule (web − hub):",
        "",
    ]
    rows = []
    tests = {}
    for s, d in conditions:
        for t in TOPOLOGIES:
            tests[(s, d, "rule", t)] = runs.paired(
                "loss_area",
                "contracting",
                "lowest-cost",
                "best-value",
                surge=s,
                disruptions=d,
                topology=t,
            )
        for c in ("lowest-cost", "best-value"):
            tests[(s, d, "topology", c)] = runs.web_minus_hub(
                "loss_area", surge=s, disruptions=d, contracting=c
            )
    tests = runs.controlled(
        tests, f"the {len(tests)} rule and topology effects of contracting.toml, loss_area"
    )
    for s, d in conditions:
        cells = [
            cell(runs.estimate("loss_area", surge=s, disruptions=d, topology=t, contracting=c))
            for t in TOPOLOGIES
            for c in ("lowest-cost", "best-value")
        ]
        rule = [tests[(s, d, "rule", t)] for t in TOPOLOGIES]
        topo = [tests[(s, d, "topology", c)] for c in ("lowest-cost", "best-value")]
        rows.append(
            [_condition_label(s, d), *cells, *(f"{_diff(p)} ({_pct(p)})" for p in rule + topo)]
        )
    header = [
        "condition",
        "hub, lowest-cost",
        "hub, best-value",
        "web, lowest-cost",
        "web, best-value",
        "rule effect in hub",
        "rule effect in web",
        "topology effect, lowest-cost",
        "topology effect, best-value",
    ]
    out += [table(header, rows), "", _family(tests), ""]
    rules = ["lowest-cost", "best-value"]
    panels = [
        (
            _condition_label(s, d),
            rules,
            {
                SHORT[t]: [
                    runs.estimate("loss_area", surge=s, disruptions=d, topology=t, contracting=c)
                    for c in rules
                ]
                for t in TOPOLOGIES
            },
        )
        for s, d in conditions
        if not (s == "1" and d == "none")
    ]
    name = charts.grouped_bars(panels, "loss area (weeks of demand)", figures, "contracting_loss")
    out += [f"![Loss by contracting rule and topology]({name})", ""]
    return "\n".join(out)


# --- NDIS levers -----------------------------------------------------------------------------
LEVERS = {
    "capacity_headroom": ("extra capacity", "0", "0.2"),
    "stockpile_weeks": ("stockpiles", "0", "8"),
    "contracting": ("diversification (best-value)", "topology", "best-value"),
    "subtier_visibility": ("sub-tier visibility", "False", "True"),
    "border_delay": ("FMS reform (delay 4→1)", "4", "1"),
    "cyber_hardening": ("cybersecurity", "0", "0.8"),
}


LEVER_TICKS = ("capacity", "stockpiles", "multi-source", "visibility", "FMS 4→1", "cyber")


def ndis_levers_section(runs: LabelledRuns, figures: Path) -> str:
    conditions = [
        (s, d)
        for s in runs.levels("surge")
        for d in runs.levels("disruptions")
        if not (s == "1" and d == "none")
    ]
    out = ["## NDIS levers (`experiments/ndis_levers.toml`)", ""]
    out += [
        "Effect of each lever on loss area (on − off, paired, averaged over every setting of the "
        "other five levers; negative = fewer weeks of demand lost):",
        "",
    ]
    header = ["condition", "topology"] + [v[0] for v in LEVERS.values()] + ["all on − all off"]
    rows = []
    all_off = {k: v[1] for k, v in LEVERS.items()}
    all_on = {k: v[2] for k, v in LEVERS.items()}
    gap_rows = []
    averaged = runs.controlled(
        {
            (s, d, topology, lever): runs.paired(
                "loss_area", lever, off, on, surge=s, disruptions=d, topology=topology
            )
            for s, d in conditions
            for topology in TOPOLOGIES
            for lever, (_, off, on) in LEVERS.items()
        },
        f"the {len(conditions) * len(TOPOLOGIES) * len(LEVERS)} averaged lever effects of "
        "ndis_levers.toml, loss_area",
    )
    for s, d in conditions:
        for topology in TOPOLOGIES:
            effects = [averaged[(s, d, topology, lever)] for lever in LEVERS]
            off = runs.values(
                "loss_area", runs.where(surge=s, disruptions=d, topology=topology, **all_off)
            )
            on = runs.values(
                "loss_area", runs.where(surge=s, disruptions=d, topology=topology, **all_on)
            )
            combined = Estimate.of(on - off) if len(on) == len(off) else None
            rows.append(
                [_condition_label(s, d), SHORT[topology]]
                + [_diff_short(p) for p in effects]
                + [number(combined.mean) if combined else "–"]
            )
        hub_on = runs.estimate("loss_area", surge=s, disruptions=d, topology=HUB, **all_on)
        web_off = runs.estimate("loss_area", surge=s, disruptions=d, topology=WEB, **all_off)
        web_on = runs.estimate("loss_area", surge=s, disruptions=d, topology=WEB, **all_on)
        hub_off = runs.estimate("loss_area", surge=s, disruptions=d, topology=HUB, **all_off)
        gap_rows.append(
            [_condition_label(s, d), cell(hub_off), cell(hub_on), cell(web_off), cell(web_on)]
        )
    out += [table(header, rows, "ll" + "r" * (len(LEVERS) + 1)), ""]
    out += [f"° q > 0.05; {_family(averaged)}", ""]
    out += [
        "Each lever **alone** (on − off with the other five off, paired; the same conditions):",
        "",
    ]
    header = ["condition", "topology"] + [v[0] for v in LEVERS.values()]
    rows = []
    panels = []
    alone_cells = runs.controlled(
        {
            (s, d, topology, lever): runs.paired(
                "loss_area",
                lever,
                off,
                on,
                surge=s,
                disruptions=d,
                topology=topology,
                **{k: v for k, v in all_off.items() if k != lever},
            )
            for s, d in conditions
            for topology in TOPOLOGIES
            for lever, (_, off, on) in LEVERS.items()
        },
        f"the {len(conditions) * len(TOPOLOGIES) * len(LEVERS)} lever-alone effects of "
        "ndis_levers.toml, loss_area",
    )
    for s, d in conditions:
        series = {}
        for topology in TOPOLOGIES:
            alone = [alone_cells[(s, d, topology, lever)] for lever in LEVERS]
            rows.append([_condition_label(s, d), SHORT[topology]] + [_diff_short(p) for p in alone])
            series[SHORT[topology]] = [p.difference for p in alone]
        panels.append((_condition_label(s, d), list(LEVER_TICKS), series))
    out += [table(header, rows, "ll" + "r" * len(LEVERS)), "", _family(alone_cells), ""]
    name = charts.grouped_bars(
        panels, "Δ loss area, lever alone (on − off)", figures, "ndis_levers_alone", height=2.5
    )
    out += [f"![Each NDIS lever alone, by topology]({name})", ""]
    out += ["Can levers stand in for the topology? Loss area with every lever off and on:", ""]
    header = ["condition", "hub, levers off", "hub, all on", "web, levers off", "web, all on"]
    out += [table(header, gap_rows), ""]
    return "\n".join(out)


# --- validation: random vs targeted loss; amplification against shock size --------------------
def attack_section(runs: LabelledRuns, figures: Path) -> str:
    series: dict[str, list[tuple[float, str]]] = {}
    hub_hits = []
    for level in runs.levels("disruptions"):
        parsed = kind_and_duration(level)
        if parsed is None:
            continue
        kind = parsed[0]
        parts = kind.split(":")
        if parts[0] in ("random", "targeted"):
            mode = parts[0] if len(parts) == 2 else f"{parts[0]} ({parts[2]})"
            mode = "targeted (degree)" if mode == "targeted" else mode
            series.setdefault(mode, []).append((float(parts[1]), level))
        else:
            hub_hits.append(level)
    out = ["## Validation: random vs targeted loss (`experiments/attack.toml`)", ""]
    for metric, label in (
        ("min_performance", "worst weekly performance (share of demand delivered)"),
        ("loss_area", "loss area (weeks of demand)"),
        ("amplification", "amplification (total / directly lost output)"),
    ):
        rows = []
        cells = runs.web_minus_hub_cells(metric, "disruptions")
        for mode, levels in series.items():
            for share, level in sorted(levels):
                p = cells[level]
                rows.append(
                    [mode, f"{share:.0%}", cell(p.at_reference), cell(p.at_level), _diff(p), _q(p)]
                )
        for level in hub_hits:
            p = cells[level]
            rows.append([level, "", cell(p.at_reference), cell(p.at_level), _diff(p), _q(p)])
        out += [f"**{label}** (`{metric}`)", ""]
        header = ["loss", "share of firms", "hub-and-spokes", "web", "web − hub", "q"]
        out += [table(header, rows), "", _family(cells), ""]
    with style():
        fig, axes = charts.new_figure(3, columns=3, height=2.2)
        for ax, metric in zip(axes, ("min_performance", "loss_area", "amplification"), strict=True):
            for m, (mode, levels) in enumerate(series.items()):
                levels = sorted(levels)
                x = [share for share, _ in levels]
                for topology in TOPOLOGIES:
                    estimates = [
                        runs.estimate(metric, disruptions=lv, topology=topology) for _, lv in levels
                    ]
                    linestyle = "-" if topology == WEB else "--"
                    charts.band(ax, x, estimates, f"{SHORT[topology]}, {mode}", OKABE_ITO[m])
                    ax.lines[-1].set_linestyle(linestyle)
            ax.set_xlabel("share of firms lost for 26 weeks")
            ax.set_title(metric)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
        name = charts.write_figure(fig, figures, "attack_random_targeted")
    out += [f"![Random and targeted loss]({name})", ""]
    return "\n".join(out)


# --- global sensitivity of the web's advantage ------------------------------------------------
def sensitivity_section(runs: LabelledRuns, figures: Path) -> str:
    from webmodel.analysis.report.figures import sensitivity_figure
    from webmodel.analysis.report.stats import (
        crossed_differences,
        difference_rank_correlations,
        sensitivity_of_difference,
    )

    results = runs.results
    out = ["## Global sensitivity of the web's advantage (`experiments/sensitivity.toml`)", ""]
    for metric in ("loss_area", "min_performance"):
        _, diff = crossed_differences(results, metric, "topology", HUB, WEB)
        estimate = Estimate.of(diff)
        lower = float(np.mean(diff[~np.isnan(diff)] < 0))
        out += [
            f"**{metric}**, web − hub-and-spokes over {len(diff)} sampled points: mean "
            f"{cell(estimate)}; the web is lower at {lower:.0%} of points. (The interval treats "
            "Saltelli's sample rows as independent, which they are not: indicative only.)",
            "",
        ]
        rows = sensitivity_of_difference(results, metric, "topology", HUB, WEB)
        rho = {
            r["factor"]: r
            for r in difference_rank_correlations(results, metric, "topology", HUB, WEB)
        }
        rows = sorted(rows, key=lambda r: -r["ST"])
        table_rows = [
            [
                r["factor"],
                f"{number(r['S1'])} ± {number(r['S1_conf'])}",
                f"{number(r['ST'])} ± {number(r['ST_conf'])}",
                number(rho[r["factor"]]["rho"]) if r["factor"] in rho else "–",
            ]
            for r in rows
        ]
        out += [
            table(["factor", "S1 ± 95%", "ST ± 95%", "Spearman ρ with the difference"], table_rows),
            "",
        ]
        dropped = rows[0].get("dropped_base", 0) if rows else 0
        if dropped:
            failed = int(np.sum(~results.ok))
            out += [
                f"({failed} runs failed (see the runs table's `error`), so the indices drop "
                f"{dropped} base sample(s) whole: they rest on the other "
                f"{rows[0]['base']} base samples.)",
                "",
            ]
        with style():
            fig = sensitivity_figure(rows, metric, title=f"{metric}: web − hub-and-spokes")
            if fig is not None:
                name = charts.write_figure(fig, figures, f"sensitivity_{metric}")
                out += [f"![Sobol' indices of the web's advantage in {metric}]({name})", ""]
    by_kind = []
    for level in runs.levels("disruptions"):
        p = runs.web_minus_hub("loss_area", disruptions=level)
        by_kind.append([level, cell(p.difference), _share(p.share_negative)])
    out += ["Paired difference in loss area by disruption, over the other sampled factors:", ""]
    out += [table(["disruption", "web − hub [95% CI]", "web lower"], by_kind), ""]
    return "\n".join(out)


# --- the Indo-Pacific coalition: naval repair and co-produced missiles --------------------------
INDO_METRICS = [
    ("loss_area", "loss area (weeks of demand, every end item and repairs)"),
    ("min_performance", "worst week (deliveries / demand)"),
    ("services.ship_repair.fleet_availability_mean", "fleet availability, mean over 2 years"),
    ("services.ship_repair.fleet_availability_min", "fleet availability, worst week"),
    ("services.ship_repair.repair_backlog_peak", "ships waiting for a slot, peak"),
    ("delivered.pac3", "PAC-3 delivered (2 years)"),
    ("delivered.gmlrs", "GMLRS delivered (2 years)"),
    ("delivered.k9_sph", "K9-like howitzers delivered (2 years)"),
]


def indo_pacific_section(runs: LabelledRuns, figures: Path) -> str:
    conditions = [(s, d) for s in runs.levels("surge") for d in runs.levels("disruptions")]
    out = ["## The Indo-Pacific coalition (`experiments/indo_pacific.toml`)", ""]
    out += [
        "Hub-and-spokes / web means and the paired difference, web − hub [95% CI], per "
        "condition (demand is the same in both wirings, so deliveries compare directly):",
        "",
    ]
    names = [m for m, _ in INDO_METRICS if m in runs.results.runs.column_names]
    for metric, label in INDO_METRICS:
        if metric not in names:
            continue
        cells = runs.controlled(
            {(s, d): runs.web_minus_hub(metric, surge=s, disruptions=d) for s, d in conditions},
            f"the {len(conditions)} conditions of indo_pacific.toml, {metric}",
        )
        rows = [
            [_condition_label(s, d), _hub_web_means(p), _diff(p), *_effects(p)]
            for (s, d), p in cells.items()
        ]
        out += [f"**{label}** (`{metric}`)", ""]
        header = ["condition", "hub / web", "web − hub [95% CI]", *EFFECT_HEADER]
        out += [table(header, rows), "", _family(cells), ""]
    return "\n".join(out)


SECTIONS = {
    "surge": surge_section,
    "disruptions": disruptions_section,
    "web_ness": web_ness_section,
    "fms_friction": fms_friction_section,
    "contracting": contracting_section,
    "ndis_levers": ndis_levers_section,
    "sensitivity": sensitivity_section,
    "attack": attack_section,
    "indo_pacific": indo_pacific_section,
}
