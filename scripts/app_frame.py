"""What one week of the app costs the server, part by part (docs/app.md, "Speed").

    uv run python scripts/app_frame.py [FIRMS ...]

Steps a pair of models (hub-and-spokes and production web, the app's defaults) through 40
weeks with the hub's assembly down and Korea cut off, and times what a frame does: the step,
the two firm-level pictures, the chart specs, the state matrices and the metrics (medians).
"""

from __future__ import annotations

import statistics
import sys
import time

from webmodel.app.flow_view import flow_spec
from webmodel.app.network_view import NetworkView, shared_layouts
from webmodel.app.pair import ModelPair, Settings
from webmodel.app.vega import ChartSpecs


def frame_parts(firms: int | None, weeks: int = 40) -> tuple[int, dict[str, float]]:
    pair = ModelPair(Settings(firms=firms))
    layouts = shared_layouts([m.network for m in pair.models], pair.models[0].bom)
    views = [
        NetworkView(model, layout, label)
        for model, layout, label in zip(pair.models, layouts, pair.labels, strict=True)
    ]
    charts = ChartSpecs(pair.models, pair.labels, pair.horizon)
    pair.step(11)
    pair.inject("assembly", "USA", 8)
    pair.step(5)
    pair.inject("state", "KOR", 20)
    parts: dict[str, list[float]] = {
        "step": [],
        "firm pictures": [],
        "charts": [],
        "matrix": [],
        "metrics": [],
    }
    work = {
        "step": lambda: pair.step(1),
        "firm pictures": lambda: [view.png() for view in views],
        "charts": charts.specs,
        "matrix": lambda: [flow_spec(m, "") for m in pair.models],
        "metrics": pair.metrics,
    }
    for _ in range(weeks):
        for name, do in work.items():
            started = time.perf_counter()
            do()
            parts[name].append(time.perf_counter() - started)
    totals = [sum(week) for week in zip(*parts.values(), strict=True)]
    medians = {name: statistics.median(times) for name, times in parts.items()}
    medians["total"] = statistics.median(totals)
    return pair.models[0].network.n_firms, medians


def main(sizes: list[int | None]) -> None:
    for firms in sizes:
        n, medians = frame_parts(firms)
        cells = ", ".join(f"{name} {1000 * t:.1f} ms" for name, t in medians.items())
        print(f"{n} firms: {cells}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [None, 1000])
