"""The app without a browser: the form, the model pair, the layout, the charts, and the Solara
components rendered with ``solara.render`` and driven by clicking their widgets."""

from __future__ import annotations

import inspect
import io
import json
import time
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara
from matplotlib.colors import to_rgb

from webmodel.analysis.palette import DOWN
from webmodel.app import assets, upload
from webmodel.app.charts import ComparisonCharts, nice_ceiling
from webmodel.app.export import figure_bytes, series_csv, series_parquet, to_toml, view_toml
from webmodel.app.network_view import NetworkView, shared_layouts
from webmodel.app.page import Page, format_metric
from webmodel.app.pair import (
    UPLOADED_SCENARIO,
    ModelPair,
    Settings,
    SettingsError,
    default_form,
    levers,
    load_named_scenario,
    parse_form,
    parse_uploaded_scenario,
)
from webmodel.cli import app as app_command
from webmodel.cli import build_parser
from webmodel.coalition.scenario import Parameters, ScenarioError, load_scenario
from webmodel.core.labels import difference_in_words, disruption_in_words
from webmodel.core.model import CoalitionModel

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def pair() -> ModelPair:
    return ModelPair(Settings())


# --- the form ------------------------------------------------------------------------------


def test_default_form_parses_to_hub_vs_web() -> None:
    settings = parse_form(default_form())
    assert settings.web_ness == (0.0, 1.0)
    assert settings.seed == 1 and settings.levers == {}


def test_form_reports_every_problem_at_once() -> None:
    form = {
        **default_form(),
        "seed": "abc",
        "web_ness_left": "1.5",
        "surge": "-1",
        "firms": "0",
        "steps": "",
        "alpha_max": "lots",
        "rationing": "lottery",
    }
    with pytest.raises(SettingsError) as caught:
        parse_form(form)
    problems = caught.value.problems
    assert problems["seed"] == "seed must be a whole number, got 'abc'"
    # The rules are the parameters' declarations (the app caps the firms it draws).
    assert problems["web_ness_left"] == "web_ness (left) must be a number in [0, 1], got '1.5'"
    assert "surge factor must be a number in [0, 1,000] (× demand)" in problems["surge"]
    assert problems["firms"] == "firms must be an integer in [1, 20,000] (firms), got '0'"
    assert problems["steps"] == "horizon is required"
    assert "alpha max must be a number in [1, 10] (× capacity)" in problems["alpha_max"]
    assert "one of proportional, priority" in problems["rationing"]


def test_levers_are_the_model_keywords_that_override_parameters() -> None:
    signature = inspect.signature(CoalitionModel.__init__).parameters
    names = [lever.name for lever in levers()]
    assert names, "no levers found"
    assert {"suppliers_per_input", "target_cover_weeks", "rationing"} <= set(names)
    for name in names:
        assert name in signature and hasattr(Parameters, name)
    form = {**default_form(), "suppliers_per_input": "2", "alpha_max": "1.5"}
    assert parse_form(form).levers == {"suppliers_per_input": 2, "alpha_max": 1.5}


def test_lever_kinds_are_parsed() -> None:
    form = {
        **default_form(),
        "subtier_visibility": "true",
        "contracting": "best-value",
        "platforms": "USA-KOR-JPN, USA AUS",
    }
    found = {lever.name: lever.kind for lever in levers()}
    expected = {
        "subtier_visibility": True,
        "contracting": "best-value",
        "platforms": [["USA", "KOR", "JPN"], ["USA", "AUS"]],
    }
    for name, value in expected.items():
        if name in found:  # levers come and go with the model
            assert parse_form(form).levers[name] == value


def test_format_metric() -> None:
    assert format_metric("fill_rate", 0.7137, True) == "71.4 %"
    assert format_metric("loss_area", 3.0061, True) == "3.01 weeks"
    assert format_metric("time_to_recover", None, True) == "not yet"
    assert format_metric("time_to_recover", None, False) == "–"
    assert format_metric("time_to_recover", 7, True) == "7 weeks"


# --- the pair ------------------------------------------------------------------------------


def test_pair_steps_in_lockstep_and_shares_disruptions() -> None:
    pair = ModelPair(Settings(surge=1.5, steps=30))
    hub, web = pair.models
    assert pair.labels == ["hub-and-spokes", "production-web"]
    assert hub.network.n_firms == web.network.n_firms
    assert hub.network.n_links != web.network.n_links
    pair.step(5)
    assert hub.week == web.week == pair.week == 5
    injected = pair.inject("assembly", "USA", duration=4)
    assert injected.disruption.start == 6
    assert [d.disruption for d in hub.disruptions] == [d.disruption for d in web.disruptions]
    pair.step(2)
    # Hub-and-spokes has every assembler in the hub; the web keeps allied co-production.
    hub_down = int((hub.engine.availability < 1).sum())
    web_down = int((web.engine.availability < 1).sum())
    assert hub_down > web_down > 0
    assert injected.hits == (f"{hub_down} firms", f"{web_down} firms")


def test_pair_rejects_an_impossible_disruption_without_changing_the_models() -> None:
    pair = ModelPair(Settings(steps=20))
    with pytest.raises(ValueError, match="fraction"):
        pair.inject("random", "1.5", duration=4)
    with pytest.raises(ValueError, match="unknown state"):
        pair.inject("state", "XXX", duration=4)
    assert all(not m.disruptions for m in pair.models)
    assert pair.injected == []


def test_pair_with_two_web_ness_values() -> None:
    pair = ModelPair(Settings(web_ness=(0.3, 0.7), steps=10))
    assert pair.labels == ["web_ness 0.3", "web_ness 0.7"]
    same = ModelPair(Settings(web_ness=(0.5, 0.5), steps=10))
    assert same.labels[0] != same.labels[1]


# --- layout and drawing ----------------------------------------------------------------------


def test_layout_groups_firms_by_state_and_tier(pair: ModelPair) -> None:
    models = pair.models
    layouts = shared_layouts([m.network for m in models], models[0].bom)
    np.testing.assert_array_equal(layouts[0].band_edges, layouts[1].band_edges)
    for model, layout in zip(models, layouts, strict=True):
        firms = model.network.firms
        x, y = layout.firm_xy.T
        edges = layout.band_edges
        assert np.all(x > edges[firms.state]) and np.all(x < edges[firms.state + 1])
        tier = model.bom.tiers[firms.product]
        assert np.all(np.abs(y + tier) < 0.5)
        # No two firms on the same spot.
        assert len(np.unique(layout.firm_xy.round(6), axis=0)) == len(firms)
    # A firm that is not moved by the wiring is drawn at the same place in both pictures.
    hub, web = models
    same = hub.network.firms.state == web.network.firms.state
    tier = hub.bom.tiers[hub.network.firms.product]
    keep = same & (tier > 0)
    np.testing.assert_allclose(layouts[0].firm_xy[keep], layouts[1].firm_xy[keep])


def test_network_view_marks_disrupted_firms_and_closed_links() -> None:
    pair = ModelPair(Settings(steps=20))
    layouts = shared_layouts([m.network for m in pair.models], pair.models[0].bom)
    view = NetworkView(pair.models[0], layouts[0], pair.labels[0])
    before = view.png()
    assert before.startswith(PNG)
    red = np.array(to_rgb(DOWN)) * 255

    def reddish(pixels: np.ndarray) -> int:
        return int((np.abs(pixels.astype(float) - red).max(axis=2) < 40).sum())

    quiet = reddish(view.pixels(view._observe()))
    pair.inject("assembly", "USA", duration=4)
    pair.inject("state", "KOR", duration=4)
    pair.step(2)
    after = view.png()
    assert after != before
    down = int((pair.models[0].engine.availability < 1).sum())
    assert down > 0 and len(view.closed.get_segments()) > 0
    assert reddish(view.pixels(view._observe())) > quiet + 50  # red edges, crosses, closed links
    assert "firms down" in view.status_line() and "links closed" in view.status_line()


def test_a_picture_is_encoded_only_when_something_it_shows_changed() -> None:
    pair = ModelPair(Settings(steps=30))
    layouts = shared_layouts([m.network for m in pair.models], pair.models[0].bom)
    view = NetworkView(pair.models[1], layouts[1], pair.labels[1])
    first = view.png()
    pair.step(3)  # nothing drawn changes in a quiet week: the same picture, not re-encoded
    assert view.png() is first and view.encoded == 1
    assert view.status_line().startswith("week 3 ·")  # the week is beside the picture
    pair.inject("state", "KOR", duration=2)
    pair.step(1)
    shocked = view.png()
    assert shocked != first and view.encoded == 2
    assert view.png() is shocked and view.encoded == 2
    pair.step(3)  # Korea's links open again
    assert view.png() != shocked and view.encoded == 3


@pytest.mark.parametrize("firms", [None, 1000])
def test_firm_picture_is_the_one_matplotlib_draws(firms: int | None) -> None:
    """The weekly picture composites firms rasterised once (network_view.FirmLayers); its
    spec is matplotlib drawing every marker: the same to 3 levels of 255 in every pixel, with
    firms fully up, down, recovering (availability between 0 and 1) and overlapping."""
    pair = ModelPair(Settings(firms=firms, steps=40))
    layouts = shared_layouts([m.network for m in pair.models], pair.models[0].bom)
    labels = pair.labels
    views = [NetworkView(*parts) for parts in zip(pair.models, layouts, labels, strict=True)]

    def worst() -> int:
        gaps = []
        for view in views:
            fast = view.pixels(view._observe()).astype(int)
            gaps.append(int(np.abs(fast - view.matplotlib_pixels().astype(int)).max()))
        return max(gaps)

    assert worst() <= 3
    pair.step(5)
    pair.inject("assembly", "USA", 6, 4)
    pair.inject("random", "0.3", 8, 6)
    pair.inject("state", "KOR", 10)
    pair.step(4)
    availability = np.asarray(pair.models[0].engine.availability)
    assert (availability == 0).any() and (availability == 1).any()
    assert worst() <= 3
    pair.step(9)  # recovering: availabilities between 0 and 1
    availability = np.asarray(pair.models[0].engine.availability)
    assert ((availability > 0) & (availability < 1)).any()
    assert worst() <= 3


def test_fast_png_encoder_round_trips() -> None:
    import PIL.Image

    from webmodel.app.render import png_rgb

    pixels = np.random.default_rng(3).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    pixels[10:20] = 255  # runs, as in a figure
    image = PIL.Image.open(io.BytesIO(png_rgb(pixels)))
    assert image.mode == "RGB" and image.size == (53, 37)
    np.testing.assert_array_equal(np.asarray(image), pixels)


def test_network_frame_draws_at_1000_firms() -> None:
    """The firm-level picture draws at ~1,000 firms after a disruption, and is not re-encoded
    when nothing it shows changed. (Its time is measured by scripts/app_frame.py, not here.)"""
    pair = ModelPair(Settings(firms=1000, steps=20))
    layouts = shared_layouts([m.network for m in pair.models], pair.models[0].bom)
    views = [
        NetworkView(model, layout, label)
        for model, layout, label in zip(pair.models, layouts, pair.labels, strict=True)
    ]
    pair.step(3)
    pair.inject("state", "KOR", duration=4)
    pair.step(2)
    for view in views:
        first = view.png()
        assert first.startswith(PNG)
        assert view.png() is first, f"{view.title}: drawn again with nothing changed"


def test_charts_draw_before_and_after_stepping() -> None:
    pair = ModelPair(Settings(steps=20))
    charts = ComparisonCharts(pair.models, pair.labels, pair.horizon)
    first = charts.pngs()
    assert len(first) == 3 and all(image.startswith(PNG) for image in first)
    pair.step(12)
    pair.inject("cyber", "0.3", duration=3, ramp=2)
    pair.step(3)
    later = charts.pngs()
    assert all(a != b for a, b in zip(first, later, strict=True))
    hub_line = charts.delivered_lines[0][0]
    np.testing.assert_array_equal(hub_line.get_xdata(), np.arange(1, 16))
    assert len(charts._spans) == len(charts.axes)  # one disruption, shaded on every axis
    # Past the planned horizon the x axis follows.
    pair.step(10)
    charts.pngs()
    assert all(ax.get_xlim()[1] == 26 for ax in charts.axes)


def test_charts_draw_at_1000_firms() -> None:
    pair = ModelPair(Settings(firms=1000, steps=104))
    charts = ComparisonCharts(pair.models, pair.labels, pair.horizon)
    pair.step(30)
    assert all(image.startswith(PNG) for image in charts.pngs())


def test_nice_ceiling() -> None:
    assert [nice_ceiling(x) for x in (0, 0.8, 1, 1.2, 2.9, 4, 6, 8, 11)] == [
        1.0,
        1.0,
        1.0,
        1.5,
        3.0,
        5.0,
        7.5,
        10.0,
        15.0,
    ]


# --- the Solara components ---------------------------------------------------------------------


def render_app():
    """The page inside an AppLayout, as the Solara server shows it (the sidebar needs it)."""
    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    return rc


def text_of(rc, css_class: str) -> list[str]:
    return [w.children[0] for w in rc.find(v.Html, class_=css_class).widgets]


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def alerts(rc) -> list[str]:
    return [str(w.children[0]) for w in rc.find(v.Alert).widgets]


def wait_until(condition, timeout: float = 30.0) -> None:
    """Builds run in a worker thread: wait for what they show."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def wait_for_alert(rc, text: str) -> None:
    wait_until(lambda: any(text in a for a in alerts(rc)))


def test_page_renders_with_both_models() -> None:
    rc = render_app()
    assert text_of(rc, "webmodel-week") == ["week 0 of 104"]
    assert len(text_of(rc, "metric-fill_rate")) == 2


def test_stepping_advances_both_models() -> None:
    rc = render_app()
    click(rc, "Step")
    assert text_of(rc, "webmodel-week") == ["week 1 of 104"]
    click(rc, "+10 weeks")
    assert text_of(rc, "webmodel-week") == ["week 11 of 104"]
    fill = text_of(rc, "metric-fill_rate")
    assert all(value.endswith("%") for value in fill)


def test_disruption_button_hits_both_models_and_changes_the_cards() -> None:
    rc = render_app()
    click(rc, "+10 weeks")
    click(rc, "Step")
    before = text_of(rc, "metric-min_performance")
    click(rc, "Hub assembly (USA)")
    assert any("scheduled in both models" in a for a in alerts(rc)), alerts(rc)
    for _ in range(4):
        click(rc, "Step")
    after = text_of(rc, "metric-min_performance")
    assert after != before
    hub_before, hub_after = (float(t.split()[0]) for t in (before[0], after[0]))
    assert hub_after < hub_before


def test_every_disruption_button_hits_both_models() -> None:
    rc = render_app()
    click(rc, "+10 weeks")
    buttons = (
        "Hub assembly (USA)",
        "Cut off state",
        "Chokepoint product",
        "Random share",
        "Targeted share",
        "Cyber outage",
    )
    for label in buttons:
        click(rc, label)
        assert any("scheduled in both models" in a for a in alerts(rc)), (label, alerts(rc))
    click(rc, "Step")
    starts = [line.split(",")[0] for line in text_of(rc, "webmodel-disruption")]
    assert starts == [
        "USA end-item assembly down",
        "KOR cut off (no trade across its borders)",
        "Propellant charge production down",
        "A random 20 % of firms down",
        "The 20 % most central firms down",
        "A cyber outage at IT vendors serving about 20 % of firms",
    ]


def test_a_seed_typed_as_text_gives_a_message_not_a_crash() -> None:
    rc = render_app()
    click(rc, "Step")
    seed = rc.find(v.TextField, label="seed").widget
    seed.v_model = "abc"
    click(rc, "Build models")
    assert any("seed must be a whole number" in a for a in alerts(rc)), alerts(rc)
    assert rc.find(v.TextField, label="seed").widget.error  # the field is marked
    # The previous models are kept.
    assert text_of(rc, "webmodel-week") == ["week 1 of 104"]
    seed.v_model = "7"
    click(rc, "Build models")
    wait_for_alert(rc, "seed 7")
    assert text_of(rc, "webmodel-week") == ["week 0 of 104"]


def test_impossible_values_give_messages() -> None:
    rc = render_app()
    rc.find(v.TextField, label="web_ness, right").widget.v_model = "3"
    click(rc, "Build models")
    assert any("web_ness (right) must be a number in [0, 1]" in a for a in alerts(rc))
    rc.find(v.TextField, label="web_ness, right").widget.v_model = "1"
    rc.find(v.TextField, label="share of firms (random, targeted, cyber)").widget.v_model = "two"
    click(rc, "Random share")
    assert any("fraction" in a for a in alerts(rc)), alerts(rc)
    rc.find(v.TextField, label="duration (weeks)").widget.v_model = "soon"
    click(rc, "Cyber outage")
    assert any("whole numbers of weeks" in a for a in alerts(rc)), alerts(rc)


@pytest.mark.parametrize("name", ["/etc/passwd", "~", "../default.toml", "other file..."])
def test_the_app_never_opens_a_typed_path(name: str, monkeypatch) -> None:
    opened: list = []
    real_open = Path.open

    def spy(self, *args, **kwargs):
        opened.append(str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: opened.append(str(self)) or "")
    with pytest.raises(SettingsError) as caught:
        parse_form({**default_form(), "scenario": name})
    assert caught.value.problems == {"scenario": "scenario: not one of the built-in scenarios"}
    with pytest.raises(ScenarioError, match="not one of the built-in scenarios"):
        load_named_scenario(name)
    assert not [p for p in opened if "passwd" in p or p.startswith("..") or p == "~"]


def test_the_form_has_no_path_field() -> None:
    rc = render_app()
    labels = [w.label for w in rc.find(v.TextField).widgets]
    assert not [label for label in labels if "file" in (label or "").lower()], labels
    assert "other file..." not in rc.find(v.Select, label="scenario").widget.items


@pytest.fixture
def drops(monkeypatch) -> list:
    """The page's FileDrop callbacks (the browser's side of a drop needs a front end; the
    browser test drops a real file)."""
    found: list = []

    def picker(on_file, **_):
        found.append(on_file)
        return solara.Text("picker")

    monkeypatch.setattr(upload, "ScenarioFileInput", picker)
    return found


def _upload(drops: list, data: bytes, name: str = "mine.toml", file_obj=None) -> None:
    """Drop a file as Solara hands it over (lazy: the bytes are read on demand)."""
    drops[-1]({"name": name, "size": len(data), "file_obj": file_obj or io.BytesIO(data)})


def _default_text() -> str:
    return resources.files("webmodel.coalition.scenarios").joinpath("default.toml").read_text()


def test_a_good_upload_is_offered_and_builds(drops) -> None:
    rc = render_app()
    _upload(drops, _default_text().replace('name = "', 'name = "uploaded ', 1).encode())
    assert any("Uploaded scenario accepted" in a for a in alerts(rc)), alerts(rc)
    assert rc.find(v.Select, label="scenario").widget.v_model == UPLOADED_SCENARIO
    click(rc, "Build models")
    wait_for_alert(rc, "Built")


def test_a_bad_upload_names_the_field_and_hides_the_file(drops) -> None:
    rc = render_app()
    text = _default_text().replace('hub = "USA"', 'hub = "SECRET_TOKEN_abc123"')
    assert "SECRET_TOKEN" in text
    _upload(drops, text.encode())
    shown = " ".join(alerts(rc)) + " ".join(
        w.children[0] for w in rc.find(v.Html, class_="webmodel-upload-error").widgets
    )
    assert "hub" in shown and "not one of the states" in shown, shown
    assert "SECRET" not in shown
    assert rc.find(v.Select, label="scenario").widget.v_model == "default"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"x" * 50_000_000, "MB is more than the 1 MB limit"),
        (b"\xff\xfe hub = 1", "not UTF-8"),
        (b"hub = = SECRET", "not valid TOML at line 1"),
        (b"a = " + b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'name = "x"\nsecret = "TOKEN123"', "unknown"),
    ],
)
def test_uploads_are_capped_parsed_in_memory_and_redacted(data: bytes, problem: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScenarioError) as caught:
        parse_uploaded_scenario(data)
    text = "; ".join(caught.value.problems)
    assert problem in text, text
    assert "SECRET" not in text and "TOKEN123" not in text
    assert time.monotonic() - started < 5


def test_a_50_mb_upload_is_refused_unread(drops) -> None:
    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("a file over the cap must not be read")

    rc = render_app()
    drops[-1]({"name": "big.toml", "size": 50_000_000, "file_obj": Unreadable()})
    assert any("50.0 MB is more than the 1 MB limit" in a for a in alerts(rc)), alerts(rc)


def test_an_uploaded_scenario_with_too_many_firms_is_refused() -> None:
    text = _default_text()
    tomlish = tomllib.loads(text)
    tomlish["firms"][0]["count"] = 50_000  # within the scenario bound, over the app's
    with pytest.raises(ScenarioError, match="firms: the file's firm groups hold"):
        parse_uploaded_scenario(to_toml(tomlish).encode())


@pytest.mark.parametrize("seed", ["-1", str(2**63), "1.5"])
def test_a_bad_seed_is_named(seed: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_form({**default_form(), "seed": seed})
    assert set(caught.value.problems) == {"seed"}
    assert caught.value.problems["seed"].startswith("seed must be a whole number")


# --- explaining and taking away --------------------------------------------------------------


def test_disruptions_in_words() -> None:
    from webmodel.coalition.disruptions import parse_disruption

    cases = {
        "assembly:USA@12+8": "USA end-item assembly down, weeks 12–19",
        "state:KOR@10+20~4": "KOR cut off (no trade across its borders), weeks 10–29, back over 4",
        "random:0.2@10+1": "A random 20 % of firms down, week 10",
        "product:tnt:KOR@10+8:s=0.5": "Tnt in KOR production down, weeks 10–17, losing 50 %",
        "border:USA-KOR@3+2": "Trade between USA and KOR frozen, weeks 3–4",
    }
    for spec, words in cases.items():
        assert disruption_in_words(parse_disruption(spec)).startswith(words), spec


def test_difference_in_words_has_sign_and_meaning() -> None:
    assert difference_in_words("fill_rate", 0.60, 0.70) == (
        "fill rate: web − hub = +10.0 points (web is better)"
    )
    assert difference_in_words("loss_area", 2.0, 3.5).endswith("+1.5 weeks (web is worse)")
    assert difference_in_words("time_to_recover", 4, 4).endswith("= 0 weeks (the same)")
    assert "not comparable" in difference_in_words("time_to_recover", None, 3)


def test_page_explains_metrics_and_lists_disruptions_in_words() -> None:
    rc = render_app()
    click(rc, "+10 weeks")
    click(rc, "Hub assembly (USA)")
    click(rc, "Step")
    tips = [w.children for w in rc.find(v.Tooltip).widgets]
    assert tips  # the definitions are on hover
    labels = text_of(rc, "metric-label-loss_area")
    assert labels == ["demand lost (weeks)"] * 2  # the label of webmodel.core.labels
    assert text_of(rc, "webmodel-disruption") == ["USA end-item assembly down, weeks 11–18"]
    difference = text_of(rc, "difference-fill_rate")
    assert difference[0].startswith("fill rate: production-web − hub-and-spokes = ")


def test_downloads_load_and_reproduce_the_view(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    pair = ModelPair(Settings(steps=30))
    pair.step(11)
    pair.inject("assembly", "USA", 6, 2)
    pair.step(9)
    table = pq.read_table(io.BytesIO(series_parquet(pair)))
    assert table.num_rows == 2 * 20
    meta = table.schema.metadata
    assert b"git_commit" in meta and b"params" in meta
    params = json.loads(meta[b"params"])
    assert [p["web_ness"] for p in params] == [0.0, 1.0]
    csv = series_csv(pair).decode()
    assert csv.startswith("# webmodel_version: ")
    assert '"wiring","web_ness","step"' in csv

    view = tmp_path / "view.toml"
    view.write_text(view_toml(pair, str(view)))
    scenario = load_scenario(view)
    assert [d.spec for d in scenario.disruptions] == ["assembly:USA@12+6~2"]
    # Rebuilt from the file, each side gives the app's numbers.
    for w, model in zip(pair.settings.web_ness, pair.models, strict=True):
        again = CoalitionModel(
            scenario=scenario, web_ness=w, surge=pair.settings.surge, steps=30, rng=1
        )
        for _ in range(20):
            again.step()
        np.testing.assert_allclose(again.series("delivered"), model.series("delivered"))


def test_figures_download_as_svg_and_png(pair: ModelPair) -> None:
    charts = ComparisonCharts(pair.models, pair.labels, pair.horizon)
    charts.update()
    svg = figure_bytes(charts.figures[1], "svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    assert figure_bytes(charts.figures[1], "png").startswith(PNG)


def test_play_runs_until_paused() -> None:
    rc = render_app()
    # A long horizon, so that playing cannot reach it before we pause, however fast it runs.
    rc.find(v.TextField, label="horizon (weeks)").widget.v_model = "1000"
    click(rc, "Build models")
    wait_until(lambda: text_of(rc, "webmodel-week") == ["week 0 of 1000"])
    click(rc, "Play")
    deadline = time.monotonic() + 30
    while text_of(rc, "webmodel-week") == ["week 0 of 1000"] and time.monotonic() < deadline:
        time.sleep(0.1)
    # The play thread re-renders the page while we look for the button: try until found.
    deadline = time.monotonic() + 10
    while True:
        try:
            click(rc, "Pause")
            break
        except ValueError:
            assert time.monotonic() < deadline, "no Pause button"
            time.sleep(0.1)
    time.sleep(1.5)  # a week being drawn when Pause was clicked still completes
    week = text_of(rc, "webmodel-week")
    assert week != ["week 0 of 1000"]
    time.sleep(1.0)
    assert text_of(rc, "webmodel-week") == week  # paused


# --- the command and the asset cache -------------------------------------------------------


def test_app_command_options() -> None:
    args = build_parser().parse_args(["app", "--port", "9000"])
    assert (args.port, args.host) == (9000, "localhost")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["app", "--port", "ninety"])
    command = app_command.solara_command("localhost", 9000)
    assert command[1:5] == ["-m", "solara", "run", "webmodel.app"]
    assert "--production" in command  # no call-home check, no hot reload


def test_required_assets_come_from_solaras_template() -> None:
    packages = assets.required_packages()
    assert any(p.startswith("@widgetti/solara-vuetify-app@") for p in packages)
    assert any(p.startswith("requirejs@") for p in packages)
    assert all("@" in p.lstrip("@") for p in packages)


def test_the_charts_scripts_are_in_the_offline_cache_list() -> None:
    """The charts' widget asks the CDN for vega@5, vega-lite@5, vega-embed@6 (major versions):
    the fill must fetch exactly those, under those names, or the charts fail offline."""
    solara_root = Path(str(resources.files("solara")))
    widget = (solara_root / "widgets/vue/vegalite.vue").read_text()
    packages = assets.required_packages()
    for name in ("vega", "vega-lite", "vega-embed"):
        asked = [p for p in packages if p.rsplit("@", 1)[0] == name]
        assert len(asked) == 1, (name, packages)
        assert f"getCdn()}}/{asked[0]}/" in widget


def test_offline_env_uses_a_filled_cache_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(assets.ENV_WEBMODEL_CACHE, str(tmp_path))
    monkeypatch.delenv(assets.ENV_CACHE, raising=False)
    env = assets.offline_env()
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"
    assert assets.ENV_CACHE not in env  # empty cache: leave Solara's default
    for package in assets.required_packages():
        (tmp_path / package).mkdir(parents=True)
        (tmp_path / package / assets.DONE_MARKER).write_text(package)

    def no_download(*_args):
        raise AssertionError("a filled cache must not be downloaded again")

    monkeypatch.setattr(assets, "fetch_package", no_download)
    assets.fill_cache(tmp_path, verbose=False)
    assert assets.offline_env()[assets.ENV_CACHE] == str(tmp_path)
    assert assets.main(["--check", "--dir", str(tmp_path)]) == 0


# --- the charts and the aggregated network view (Vega-Lite specs) ---------------------------


def test_chart_specs_hover_week_value_wiring_and_shade_disruptions() -> None:
    from webmodel.app.vega import ChartSpecs

    pair = ModelPair(Settings(steps=30))
    pair.step(5)
    pair.inject("assembly", "USA", 4)
    pair.step(5)
    specs = ChartSpecs(pair.models, pair.labels, pair.horizon).specs()
    assert len(specs) == 2 + 2  # one deliveries chart per end item, performance, backlog
    for spec in specs:
        assert spec["usermeta"]["embedOptions"]["renderer"] == "svg"
        lines = spec["layer"][-1]
        fields = [t["field"] for t in lines["encoding"]["tooltip"]]
        assert fields[:2] == ["week", "wiring"] and "value" in fields
        assert lines["encoding"]["color"]["scale"]["range"][-2:] == ["#EE7733", "#0077BB"]
        shaded = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rect"]
        assert shaded and shaded[0]["data"]["values"][0]["from"] == 5.5
    q = [r for r in specs[2]["layer"][-1]["data"]["values"] if r["wiring"] == pair.labels[0]]
    np.testing.assert_allclose([r["value"] for r in q], pair.performance()[0], atol=1e-6)


def test_chart_specs_build_at_1000_firms() -> None:
    """Specs for the whole horizon at ~1,000 firms, rebuilt each frame (their time is measured
    by scripts/app_frame.py, not here: timed tests fail on a busy machine)."""
    from webmodel.app.vega import ChartSpecs

    pair = ModelPair(Settings(firms=1000))
    pair.step(104)
    specs = ChartSpecs(pair.models, pair.labels, pair.horizon)
    first = specs.specs()
    assert first and specs.specs() == first  # nothing changed: the same specs


def test_flow_matrix_marks_closed_links_at_10000_firms() -> None:
    from webmodel.app.flow_view import flow_spec, state_flows

    pair = ModelPair(Settings(firms=10_000, steps=30))
    web = pair.models[1]
    assert web.network.n_firms > 9_000
    pair.step(3)
    pair.inject("state", "KOR", 5)
    pair.step(1)
    rows = state_flows(web)
    assert sum(r["links"] for r in rows) == int((web.network.link_weight > 0).sum())
    closed = [r for r in rows if r["closed"]]
    # KOR cut off: only links into or out of KOR close (its forces' deliveries included).
    assert closed and all(r["supplier"] == "KOR" or r["buyer"] in ("KOR", "forces") for r in closed)
    assert not [r for r in rows if r["supplier"] == r["buyer"] and r["closed"]]
    spec = flow_spec(web, "web")
    assert len(spec["data"]["values"]) <= 2 * len(web.network.state_codes) ** 2  # readable


def network_pictures(rc) -> int:
    import ipywidgets

    return sum("webmodel-network" in w._dom_classes for w in rc.find(ipywidgets.Image).widgets)


def test_a_large_coalition_shows_the_matrix_only(monkeypatch) -> None:
    from solara.widgets import VegaLite

    from webmodel.app import page as page_module

    assert network_pictures(render_app()) == 2  # both firm-level pictures at the default size
    monkeypatch.setattr(page_module, "FIRM_VIEW_MAX", 50)
    rc = render_app()
    assert network_pictures(rc) == 0
    titles = [w.spec["title"] for w in rc.find(VegaLite).widgets]
    assert sum("links between states" in t for t in titles) == 2, titles


# --- one session cannot exhaust the server --------------------------------------------------

HOSTILE = {"firms": "20000", "suppliers_per_input": "100"}


def test_the_largest_inputs_are_refused_before_any_allocation() -> None:
    import tracemalloc

    from webmodel.app.page import build_pair

    tracemalloc.start()
    started = time.monotonic()
    pair, problems, message = build_pair({**default_form(), **HOSTILE})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert pair is None and message is not None
    assert set(problems) == {"firms", "suppliers_per_input"}
    assert "links per model, more than the app's 1,000,000" in problems["suppliers_per_input"]
    assert time.monotonic() - started < 2 and peak < 20_000_000  # bytes: nothing was built


# The server's memory with a hostile session asking for the largest builds again and again,
# and another session stepping: tests/test_app_e2e.py, against a live server.


# --- builds run in a worker, cancellable, bounded per session and in total ---------------------


def test_a_lane_serves_in_order_and_refuses_a_full_line() -> None:
    import threading

    from webmodel.app.builds import BuildCancelled, BuildRequest, Lane, ServerBusy

    lane = Lane("large", running=1, waiting=2)
    release = threading.Event()
    order: list[str] = []
    outcome: dict[str, str] = {}

    def build(name: str, request: BuildRequest) -> None:
        try:
            with lane.turn(request):
                order.append(name)
                if name == "a":
                    release.wait(10)
            outcome[name] = "built"
        except BuildCancelled:
            outcome[name] = "cancelled"
        except ServerBusy as error:
            outcome[name] = str(error)

    requests = {name: BuildRequest() for name in "abcd"}
    threads = {}
    for name in "abcd":
        threads[name] = threading.Thread(target=build, args=(name, requests[name]))
        threads[name].start()
        wait_until(lambda name=name: name in order or name in outcome or lane.in_line >= 1, 5)
        time.sleep(0.1)
    # a runs, b and c wait, d found the line full and was refused at once.
    assert order == ["a"] and lane.in_line == 2
    assert "try again in a moment" in outcome["d"]
    requests["b"].cancel()  # cancelled while waiting: it leaves the line at once
    threads["b"].join(2)
    assert outcome["b"] == "cancelled" and lane.in_line == 1
    release.set()
    for name in "ac":
        threads[name].join(5)
    assert order == ["a", "c"] and outcome["c"] == "built" and lane.busy == 0


def test_a_newer_build_cancels_the_older_one_of_the_session() -> None:
    from webmodel.app.builds import SessionBuilds

    builds = SessionBuilds()
    first = builds.start()
    second = builds.start()
    assert first.cancelled and not second.cancelled
    shown: list[str] = []
    assert not builds.finish(first, lambda: shown.append("first"))  # overtaken: dropped
    assert builds.finish(second, lambda: shown.append("second"))
    assert shown == ["second"] and not builds.pending
    third = builds.start()
    assert builds.cancel() and third.cancelled and not builds.cancel()


def test_a_cancelled_build_stops_between_its_stages() -> None:
    from webmodel.app.builds import BuildCancelled

    calls: list[int] = []

    def check() -> None:
        calls.append(len(calls))
        if len(calls) == 2:  # after the first model: the session asked for something else
            raise BuildCancelled

    with pytest.raises(BuildCancelled):
        ModelPair(Settings(), check=check)
    assert calls == [0, 1]  # stopped before the second model


@pytest.fixture
def slow_builds(monkeypatch) -> Iterator[dict]:
    """Builds (but the page's first) that take up to 30 s in stages of 50 ms, and say when
    they stopped."""
    import threading

    from webmodel.app import page as page_module

    real = page_module.ModelPair
    seen = {name: threading.Event() for name in ("started", "stopped", "finish", "abort")}

    def slow_pair(settings, check):
        if settings.seed == Settings().seed:  # the page's first build
            return real(settings, check=check)
        seen["started"].set()
        try:
            for _ in range(600):
                check()
                if seen["abort"].is_set():  # the test is over
                    raise RuntimeError("test over")
                if seen["finish"].is_set():
                    return real(settings, check=check)
                time.sleep(0.05)
            raise AssertionError("the slow build was never cancelled")
        finally:
            seen["stopped"].set()

    monkeypatch.setattr(page_module, "ModelPair", slow_pair)
    yield seen
    seen["abort"].set()


def test_a_build_runs_in_a_worker_and_can_be_cancelled(slow_builds) -> None:
    rc = render_app()
    rc.find(v.TextField, label="seed").widget.v_model = "5"
    click(rc, "Build models")
    assert slow_builds["started"].wait(5)
    # The page answers while the build runs: the models shown still step.
    assert text_of(rc, "webmodel-building-text")[0].startswith("Building the models")
    click(rc, "Step")
    assert text_of(rc, "webmodel-week") == ["week 1 of 104"]
    click(rc, "Cancel build")
    assert slow_builds["stopped"].wait(2)  # the worker stopped at its next stage
    assert any("Build cancelled" in a for a in alerts(rc))
    assert text_of(rc, "webmodel-building-text") == []
    assert text_of(rc, "webmodel-week") == ["week 1 of 104"]  # the models shown are kept


def test_asking_again_cancels_the_build_under_way(slow_builds) -> None:
    rc = render_app()
    rc.find(v.TextField, label="seed").widget.v_model = "5"
    click(rc, "Build models")
    assert slow_builds["started"].wait(5)
    slow_builds["started"].clear()
    rc.find(v.TextField, label="seed").widget.v_model = "6"
    click(rc, "Build models")
    assert slow_builds["stopped"].wait(2)  # the first build stopped
    assert slow_builds["started"].wait(5)
    slow_builds["finish"].set()
    wait_for_alert(rc, "seed 6")
    assert not any("seed 5" in a for a in alerts(rc))


def test_closing_the_page_cancels_its_build(slow_builds) -> None:
    rc = render_app()
    rc.find(v.TextField, label="seed").widget.v_model = "5"
    click(rc, "Build models")
    assert slow_builds["started"].wait(5)
    rc.close()  # what Solara does when the session's page is closed
    assert slow_builds["stopped"].wait(2)
