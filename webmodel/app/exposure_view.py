"""The app's vulnerability review: the single-point-of-failure ranking for the current settings,
a network view with the chosen node highlighted, and a state's dependency map.

The ranking runs the stress test (``webmodel.analysis.exposure.stress``) through the sweep
machinery in this process, into a folder of the system's temporary directory named after the
settings, so asking again for the same settings reads the finished runs back. The dependency map
traces the two models' own networks. See docs/exposure.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from webmodel.analysis.exposure.dependency import dependency_map, state_report
from webmodel.analysis.exposure.stress import StressConfig, StressResult, run_stress
from webmodel.analysis.palette import DOWN
from webmodel.app.network_view import Layout, shared_layouts
from webmodel.app.pair import UPLOADED_SCENARIO, ModelPair, Settings
from webmodel.coalition.network import Network

HIGHLIGHT = DOWN  # the palette's "down" colour: the node taken down
TOP = 10  # rows of the ranking shown per wiring


def stress_config(settings: Settings) -> StressConfig:
    """The stress test of the app's settings: same scenario, size, horizon and levers, both
    wirings, no surge (a node's loss is its own); the root seed is the app's seed.

    Raises:
        ValueError: the scenario was uploaded; the stress test's sweep reads scenario files,
            and the app never writes an upload to the server's disk.
    """
    if settings.scenario == UPLOADED_SCENARIO:
        raise ValueError(
            "The stress test runs on the built-in scenarios only: an uploaded scenario stays in "
            "memory, and the stress test reads scenario files (run `webmodel stress` on it)."
        )
    scenario = None if settings.scenario == "default" else settings.scenario
    return StressConfig(
        scenario=scenario,
        firms=settings.firms,
        steps=settings.steps,
        root_seed=settings.seed,
        base=dict(settings.levers),
    )


def ranking_for(settings: Settings, folder: Path | None = None) -> StressResult:
    """Run (or read back) the (product, state) stress test of these settings."""
    config = stress_config(settings)
    if folder is None:
        key = json.dumps(
            {"config": repr(config), "settings": repr(settings)}, sort_keys=True, default=str
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / f"webmodel-exposure-{digest}"
    from webmodel.analysis.sweep.executor import open_workers

    # In this process: the app serves from threads, and forking a threaded process is unsafe.
    with open_workers(0) as workers:
        return run_stress(config, folder, workers, progress={"quiet": True})


def ranking_markdown(result: StressResult, topology: str, top: int = TOP) -> str:
    """The top of one wiring's ranking as a Markdown table."""
    rows = result.rows(topology)
    lines = [
        f"**{topology}** ({sum(r['tts_lt_ttr'] for r in rows)} of {len(rows)} nodes with "
        "TTS < TTR)",
        "",
        "| rank | node | firms | loss (weeks) | TTS | TTR | worst state |",
        "|---:|:---|---:|---:|---:|---:|:---|",
    ]
    for r in rows[:top]:
        tts = "none" if r["tts_weeks"] is None else str(r["tts_weeks"])
        flag = " ⚠" if r["tts_lt_ttr"] else ""
        lines.append(
            f"| {r['rank']} | {r['node']} | {r['n_firms']} | {r['coalition_loss']:.2f} | "
            f"{tts}{flag} | {r['ttr_weeks']} | {r['worst_state']} ({r['worst_state_loss']:.2f}) |"
        )
    return "\n".join(lines)


def node_firms(network: Network, node: str) -> np.ndarray:
    """Firms of a node label ("tnt@KOR" or a firm name) in this wiring."""
    if "@" in node:
        product, state = node.split("@", 1)
        p = network.product_names.index(product)
        s = network.state_codes.index(state)
        return np.flatnonzero((network.firms.product == p) & (network.firms.state == s))
    return np.flatnonzero(np.array(network.firms.name) == node)


def highlight_png(network: Network, layout: Layout, node: str, title: str) -> bytes:
    """The network with ``node``'s firms and the links they supply drawn in vermilion."""
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    buyer = network.slot_firm[network.link_slot]
    end = np.where(
        (buyer >= 0)[:, None],
        layout.firm_xy[np.maximum(buyer, 0)],
        layout.state_xy[network.slot_state[network.link_slot]],
    )
    segments = np.stack([layout.firm_xy[network.link_supplier], end], axis=1)
    active = network.link_weight > 0
    ax.add_collection(LineCollection(segments[active], colors="0.85", linewidths=0.4))
    firms = node_firms(network, node)
    theirs = active & np.isin(network.link_supplier, firms)
    ax.add_collection(LineCollection(segments[theirs], colors=HIGHLIGHT, linewidths=1.2))
    ax.scatter(layout.firm_xy[:, 0], layout.firm_xy[:, 1], s=8, c="0.6", linewidths=0)
    ax.scatter(
        layout.firm_xy[firms, 0],
        layout.firm_xy[firms, 1],
        s=60,
        c=HIGHLIGHT,
        edgecolors="black",
        linewidths=0.8,
        zorder=3,
    )
    for s, code in enumerate(network.state_codes):
        x, y = layout.state_xy[s]
        ax.scatter([x], [y], s=60, marker="s", c="0.4")
        ax.text(x, y + 0.3, code, ha="center", va="bottom", fontsize=7)
    ax.set_xlim(layout.band_edges[0], layout.band_edges[-1])
    ax.set_ylim(-(layout.n_tiers - 1) - 0.6, 1.75)
    ax.set_axis_off()
    ax.set_title(f"{title}: {node} ({len(firms)} firms) and the links it supplies", fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def dependency_markdown(pair: ModelPair, state: str) -> str:
    """The dependency map of ``state`` in both models, as Markdown tables."""
    lines = []
    for label, model in zip(pair.labels, pair.models, strict=True):
        report = state_report([dependency_map(model.network, [state])], state)
        wiring = next(iter(report["wirings"].values()))
        share = wiring["firm_inputs"].get("foreign_unit_share", 0.0)
        lines += [
            f"**{label}**: {state}'s firms buy {100 * share:.0f} % of their input units "
            "from abroad",
            "",
        ]
        for root in wiring["roots"]:
            lines += [
                f"*{root['role']} {root['end_item']}*",
                "",
                "| tier | foreign units | foreign value | from | chokepoints |",
                "|---:|---:|---:|:---|:---|",
            ]
            for t in root["tiers"]:
                sources = ", ".join(
                    f"{k} {100 * v:.0f}%" for k, v in list(t["foreign_sources"].items())[:3]
                )
                chokes = ", ".join(c["product"] for c in t["chokepoints"])
                lines.append(
                    f"| {t['tier']} | {100 * t['foreign_unit_share']:.0f} % | "
                    f"{100 * t['foreign_value_share']:.0f} % | {sources or '–'} | "
                    f"{chokes or '–'} |"
                )
            lines.append("")
    return "\n".join(lines)


def heatmap_png(pair: ModelPair) -> bytes:
    from webmodel.analysis.exposure.figures import heatmap

    fig = heatmap([dependency_map(m.network) for m in pair.models])
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


@solara.component
def ExposurePanel(pair: ModelPair) -> None:
    """Ranking, highlighted node and dependency map, for the pair's settings."""
    result = solara.use_reactive(None)
    problem = solara.use_reactive("")
    node = solara.use_reactive("")
    states = pair.models[0].network.state_codes
    state = solara.use_reactive(states[1] if len(states) > 1 else states[0])
    layouts = solara.use_memo(
        lambda: shared_layouts([m.network for m in pair.models], pair.models[0].bom), [pair]
    )

    def rank() -> None:
        try:
            found = ranking_for(pair.settings)
        except (ValueError, RuntimeError) as err:
            problem.set(str(err))
            return
        problem.set("")
        result.set(found)
        rows = found.rows()
        node.set(rows[0]["node"] if rows else "")

    with (
        solara.Card("Vulnerability review", margin=0, classes=["webmodel-exposure"]),
        solara.Columns([1, 1]),
    ):
        with solara.Column():
            solara.Markdown(
                "**Single points of failure**: each (product, state) group down alone for "
                "8 weeks from week 10, no surge, in each wiring (a sweep with the app's seed "
                "as root seed: the web is another random draw than the one shown)."
            )
            solara.Button("Rank nodes (stress test)", on_click=rank, color="primary")
            if problem.value:
                solara.Error(problem.value)
            found = result.value
            if found is not None:
                for topology in dict.fromkeys(r["topology"] for r in found.rows()):
                    solara.Markdown(ranking_markdown(found, topology))
                labels = list(dict.fromkeys(r["node"] for r in found.rows()))
                solara.Select("highlight node", values=labels, value=node)
                if node.value:
                    for model, layout, label in zip(pair.models, layouts, pair.labels, strict=True):
                        image = highlight_png(model.network, layout, node.value, label)
                        solara.Image(image, width="100%", classes=["webmodel-highlight"])
        with solara.Column():
            solara.Markdown("**Dependency map** (equilibrium flows of the models shown)")
            solara.Select("state", values=states, value=state)
            text = solara.use_memo(
                lambda: dependency_markdown(pair, state.value), [pair, state.value]
            )
            solara.Markdown(text)
            image = solara.use_memo(lambda: heatmap_png(pair), [pair])
            solara.Image(image, width="100%", classes=["webmodel-heatmap"])
