"""What one week of the app costs the server (docs/app.md, "Speed").

    uv run python scripts/app_frame.py [FIRMS ...]     (default: the scenario's size and 1000)

Two measurements per size, both medians over 40 weeks with the hub's end-item assembly down
(weeks 12-19) and Korea cut off (from week 17), after which Korea's links stay closed:

- *page*: the whole page rendered in-process with Solara's test renderer (``solara.render``,
  as tests/test_app_components.py does) and its Step button clicked: the step, every component
  that re-renders, the pictures, the chart specs, the widgets' updates. This is the frame.
- *parts*: the same work done piece by piece (step, the two firm-level pictures, the chart
  specs, the state matrices, the metrics), to see where the time goes.

Times are the CPU time of the thread (``time.thread_time``), so that other jobs on a shared
machine do not count, and the wall time beside it. A frame in which a picture changed (a
shock starts or ends, a firm recovers, a link is re-sourced) is reported apart: those are the
frames that draw and encode.
"""

from __future__ import annotations

import statistics
import sys
import time

import ipyvuetify as v
import solara

from webmodel.app.flow_view import flow_spec
from webmodel.app.network_view import NetworkView, shared_layouts
from webmodel.app.page import Page
from webmodel.app.pair import ModelPair, Settings
from webmodel.app.vega import ChartSpecs

WEEKS = 40


def _clock() -> tuple[float, float]:
    return time.thread_time(), time.perf_counter()


def _ms(times: list[float]) -> str:
    return f"{1000 * statistics.median(times):.1f} ms" if times else "–"


def parts(firms: int | None) -> tuple[int, dict[str, list[float]]]:
    """The firms per model, and CPU seconds per week of each part of a frame."""
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
    work = {
        "step": lambda: pair.step(1),
        "firm pictures": lambda: (
            [view.png() for view in views] + [getattr(view, "status_line", str)() for view in views]
        ),
        "charts": charts.specs,
        "matrix": lambda: [flow_spec(m, "") for m in pair.models],
        "metrics": pair.metrics,
    }
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(WEEKS):
        for name, do in work.items():
            started = time.thread_time()
            do()
            times[name].append(time.thread_time() - started)
    times["total"] = [sum(week) for week in zip(*times.values(), strict=True)]
    return pair.models[0].network.n_firms, times


def _click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def page_frames(firms: int | None) -> dict[str, list[float]]:
    """CPU and wall seconds of a click on Step on the rendered page, split by whether a
    firm-level picture changed that week."""
    from webmodel.app import network_view

    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    if firms is not None:
        rc.find(v.TextField, label="firms (blank: as in the scenario)").widget.v_model = str(firms)
        _click(rc, "Build models")
        deadline = time.monotonic() + 120
        while not any("Built" in str(w.children[0]) for w in rc.find(v.Alert).widgets):
            assert time.monotonic() < deadline, "the build did not finish"
            time.sleep(0.1)
    for _ in range(11):
        _click(rc, "Step")
    _click(rc, "Hub assembly (USA)")
    for _ in range(5):
        _click(rc, "Step")
    _click(rc, "Cut off state")  # the state chosen first is Korea (the second listed)
    encoded = [0]
    real_frame = network_view.NetworkView.frame

    def counted(view: NetworkView) -> tuple[bytes, str]:
        before = view.encoded
        shown = real_frame(view)
        encoded[0] += view.encoded - before
        return shown

    network_view.NetworkView.frame = counted  # type: ignore[method-assign]
    times: dict[str, list[float]] = {"unchanged": [], "changed": [], "all": [], "wall": []}
    try:
        for _ in range(WEEKS):
            before = encoded[0]
            cpu, wall = _clock()
            _click(rc, "Step")
            cpu_end, wall_end = _clock()
            kind = "changed" if encoded[0] > before else "unchanged"
            times[kind].append(cpu_end - cpu)
            times["all"].append(cpu_end - cpu)
            times["wall"].append(wall_end - wall)
    finally:
        network_view.NetworkView.frame = real_frame  # type: ignore[method-assign]
    rc.close()
    return times


def main(sizes: list[int | None]) -> None:
    for firms in sizes:
        n, split = parts(firms)
        frames = page_frames(firms)
        print(
            f"{n} firms, page frame (CPU): median {_ms(frames['all'])}; "
            f"{len(frames['unchanged'])} weeks with no picture changed {_ms(frames['unchanged'])}, "
            f"{len(frames['changed'])} with one {_ms(frames['changed'])} "
            f"(max {1000 * max(frames['all']):.0f} ms); wall median {_ms(frames['wall'])}"
        )
        cells = ", ".join(f"{name} {_ms(t)}" for name, t in split.items())
        print(f"{n} firms, parts (CPU): {cells}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [None, 1000])
