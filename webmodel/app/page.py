"""The webmodel app: hub-and-spokes and a production web side by side, disrupted live.

Start it with ``webmodel app`` (or ``solara run webmodel.app``) and open the address it prints.
Two models are built from the same scenario and seed, differing only in their wiring
(``web_ness``, 0 = hub-and-spokes, 1 = production web). They step in lockstep, meet the same
surge, and every disruption button hits both at once, so what differs on screen comes from the
wiring alone. See docs/app.md.

Structure (as in Mesa's examples, but two models instead of one, so the controls are our own
rather than SolaraViz's): :func:`Page` holds the state; the sidebar has the run controls, the
disruption buttons and the settings; the main area has the metric cards, the two network views
and the charts. The models, the layout and the charts live in ``app_pair``, ``app_layout`` and
``app_charts`` so they can be tested without a browser.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import reacton.ipyvuetify as rv
import solara
from solara.widgets import VegaLite

from webmodel.analysis.palette import DOWN, wiring_colours
from webmodel.app import upload
from webmodel.app.assets import configure_solara
from webmodel.app.builds import (
    BuildCancelled,
    BuildRequest,
    ServerBusy,
    SessionBuilds,
    lane_for,
)
from webmodel.app.charts import ComparisonCharts
from webmodel.app.export import figure_bytes, series_csv, series_parquet, view_toml
from webmodel.app.exposure_view import ExposurePanel
from webmodel.app.fleet_view import FleetPanel
from webmodel.app.flow_view import flow_spec
from webmodel.app.live import Weekly, live_image, live_text, use_weekly
from webmodel.app.network_view import NetworkView, shared_layouts
from webmodel.app.pair import (
    MAX_UPLOAD_BYTES,
    RUN_FIELDS,
    UPLOADED_SCENARIO,
    Lever,
    ModelPair,
    Settings,
    SettingsError,
    check_budget,
    default_form,
    levers,
    parse_form,
    parse_uploaded_scenario,
    projected_links,
    scenario_choices,
    upload_too_big,
)
from webmodel.app.vega import ChartSpecs
from webmodel.coalition.scenario import ScenarioError
from webmodel.core.labels import METRICS, difference_in_words, disruption_in_words

configure_solara()
logger = logging.getLogger(__name__)

SHORT_UNIT = 11  # characters of a unit that fit beside a field's value (longer: in its tooltip)
FIRM_VIEW_MAX = 2_000  # firms per model drawn one by one; beyond, only the matrix of states
PLAY_PAUSE_SECONDS = 0.05  # between weeks while playing, so clicks still get through
Message = tuple[str, str]  # (kind: "error" | "success" | "info", text)


def format_metric(name: str, value: Any, shocked: bool) -> str:
    """A metric as the cards show it; None means "not applicable" or "not yet"."""
    if value is None:
        if name == "time_to_recover" and shocked:
            return "not yet"
        return "–"
    if name in ("fill_rate", "min_performance"):
        return f"{100 * value:.1f} %"
    if name == "loss_area":
        return f"{value:.2f} weeks"
    if name == "time_to_recover":
        return f"{value} weeks"
    return f"{value:.3g}"


Shape = tuple[bool, int]  # what decides the page's layout: (past week 0, shocks listed)


def page_shape(pair: ModelPair | None) -> Shape | None:
    """What the page's layout depends on, beyond the pair itself: the difference card and the
    fleet card appear after week 0, the list of shocks grows with each one injected. Any other
    change shows through the widgets' weekly updates (webmodel.app.live), not a render."""
    if pair is None:
        return None
    return pair.week > 0, len(pair.models[0].disruptions)


class RenderedShapes:
    """Which page shape the page last finished rendering, so the play loop can wait for it.

    Without this the play thread could change the models again while a render of a new shape
    it started is still under way, and a render started by a click in another thread would never
    settle (Solara gives up with "Too many renders").
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.shape: Shape | None = None

    def mark(self, shape: Shape | None) -> None:
        with self._condition:
            self.shape = shape
            self._condition.notify_all()

    def wait_for(self, shape: Shape | None, timeout: float = 10.0) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: self.shape == shape, timeout)


def validate(form: dict[str, str]) -> tuple[Settings | None, int, dict[str, str], Message | None]:
    """The form's settings and their projected links per model (nothing built), or the
    problems to show (per field, and one message)."""
    try:
        settings = parse_form(form)
        scenario = check_budget(settings)
    except SettingsError as error:
        problem = ("error", "Please fix: " + "; ".join(error.problems.values()))
        return None, 0, error.problems, problem
    except ScenarioError as error:
        return None, 0, {"scenario": str(error)}, ("error", str(error))
    return settings, projected_links(scenario, settings), {}, None


def build_models(
    settings: Settings,
    links: int,
    request: BuildRequest,
    still_wanted: Callable[[], bool] | None = None,
) -> tuple[ModelPair | None, Message | None]:
    """Build the pair in this thread, in its lane's turn (webmodel.app.builds); the models, or
    None and what went wrong. Stops between stages once ``request`` is cancelled or
    ``still_wanted`` says no.

    Raises:
        BuildCancelled: the build stopped because it is no longer wanted.
    """

    def check() -> None:
        request.check()
        if still_wanted is not None and not still_wanted():
            raise BuildCancelled

    try:
        with lane_for(links).turn(request):
            return ModelPair(settings, check=check), None
    except ServerBusy as error:
        return None, ("error", f"Not built: {error}.")
    except (ScenarioError, ValueError) as error:
        return None, ("error", str(error))
    except BuildCancelled:
        raise
    except Exception as error:  # a bug in a model must not take the page down
        logger.exception("building the models failed")
        return None, ("error", f"Could not build the models: {error!r}")


def build_pair(form: dict[str, str]) -> tuple[ModelPair | None, dict[str, str], Message | None]:
    """Models from the form, built in this thread, or the problems to show (per field, and one
    message): the page's first build and the tests; the page's later builds run in a worker."""
    settings, links, problems, problem = validate(form)
    if settings is None:
        return None, problems, problem
    pair, problem = build_models(settings, links, BuildRequest())
    return pair, {}, problem


# --- the page ------------------------------------------------------------------------------


@solara.component
def Page() -> None:
    """The whole app; state lives here and flows down to the panels."""
    form = solara.use_reactive(default_form())
    errors = solara.use_reactive(cast(dict[str, str], {}))
    initial, _, problem = solara.use_memo(lambda: build_pair(default_form()), [])
    pair = solara.use_reactive(cast("ModelPair | None", initial))
    # A step or a shock changes the models in place: ``weekly`` sets the widgets that show
    # them, with no render (webmodel.app.live); the page renders again only when its shape
    # changes. Page never reads ``shape`` while rendering; the dashboard does (docs/app.md).
    weekly = solara.use_memo(Weekly, [])
    shape = solara.use_reactive(page_shape(initial))
    message = solara.use_reactive(cast(Message | None, problem))
    playing = solara.use_reactive(False)
    rendered = solara.use_memo(RenderedShapes, [])

    # The session's builds: one at a time, in a worker thread (webmodel.app.builds); closing
    # the page (unmounting it) cancels the one under way.
    builds = solara.use_memo(SessionBuilds, [])
    solara.use_effect(lambda: builds.cancel, [])
    building = solara.use_reactive(cast(str | None, None))  # what is being built, if anything

    def run_build(settings: Settings, links: int, request: BuildRequest) -> None:
        """In the worker: build, then show the models unless the build was overtaken."""
        try:
            new, problem = build_models(settings, links, request, build_task.is_current)
        except BuildCancelled:
            return

        def show() -> None:
            building.set(None)
            if new is None:
                message.set(problem)
                return
            pair.set(new)
            shape.set(page_shape(new))
            labels, seed = new.labels, new.settings.seed
            message.set(("success", f"Built {labels[0]} and {labels[1]} (seed {seed})."))

        builds.finish(request, show)

    build_task = solara.lab.use_task(run_build, dependencies=None, raise_error=False)

    def rebuild() -> None:
        playing.set(False)
        settings, links, problems, problem = validate(form.value)
        errors.set(problems)
        if settings is None:
            message.set(problem)
            return
        request = builds.start()  # cancels this session's build under way, if any
        firms = f"{settings.firms:,} firms" if settings.firms else "the scenario's firms"
        building.set(f"Building the models ({firms}, about {links:,} links per model)…")
        build_task(settings, links, request)

    def cancel_build() -> None:
        if builds.cancel():
            building.set(None)
            message.set(("info", "Build cancelled; the models shown are kept."))

    def show_change() -> None:
        """The models changed in place: update what shows them; render if the shape changed."""
        if pair.value is None:
            return
        weekly.publish(pair.value.lock)
        shape.set(page_shape(pair.value))  # (no render when it is the same)

    def step(weeks: int) -> None:
        if pair.value is None:
            return
        try:
            pair.value.step(weeks)
        except Exception as error:  # a model error must not take the page down
            logger.exception("stepping failed")
            playing.set(False)
            message.set(("error", f"Stepping failed: {error}"))
        show_change()

    def play_loop() -> None:
        while playing.value and pair.value is not None:
            if pair.value.week >= pair.value.horizon:
                playing.set(False)
                message.set(("info", f"Reached the horizon ({pair.value.horizon} weeks)."))
                break
            step(1)
            # A week whose shape changed is rendered before the next one is stepped.
            rendered.wait_for(shape.value)
            time.sleep(PLAY_PAUSE_SECONDS)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def inject(kind: str, target: str | None, duration: int, ramp: int) -> None:
        if pair.value is None:
            return
        try:
            injected = pair.value.inject(kind, target, duration, ramp)
        except ValueError as error:
            message.set(("error", str(error).split("\n")[0]))
            return
        d = injected.disruption
        hits = ", ".join(
            f"{label}: {hit}" for label, hit in zip(pair.value.labels, injected.hits, strict=True)
        )
        message.set(("success", f"{disruption_in_words(d)}: scheduled in both models ({hits})."))
        show_change()

    solara.Title("webmodel: hub-and-spokes vs production web")
    with solara.Sidebar():
        if pair.value is not None:
            RunControls(pair.value, weekly, playing, step, rebuild)
            DisruptionControls(pair.value, inject, message)
        SettingsForm(form, errors, message, rebuild)
    with solara.Column(classes=["webmodel-main"]):
        MessageBar(message)
        if building.value is not None:
            BuildProgress(building.value, cancel_build)
        if pair.value is not None:
            Dashboard(pair.value, weekly, shape, rendered)
            ExposurePanel(pair.value)


page = Page  # `solara run webmodel.app` looks for Page; Mesa's examples call it page


# --- sidebar -------------------------------------------------------------------------------


@solara.component
def RunControls(
    pair: ModelPair,
    weekly: Weekly,
    playing: solara.Reactive[bool],
    step: Callable[[int], None],
    rebuild: Callable[[], None],
) -> None:
    """Step, play / pause and reset; the week both models are at."""
    with solara.Card("Run", margin=0, classes=["webmodel-run"]):
        WeekLabel(pair, weekly)
        with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
            solara.Button("Step", on_click=lambda: step(1), disabled=playing.value, color="primary")
            solara.Button("+10 weeks", on_click=lambda: step(10), disabled=playing.value)
            solara.Button(
                "Pause" if playing.value else "Play",
                on_click=lambda: playing.set(not playing.value),
            )
            solara.Button("Reset", on_click=rebuild, outlined=True)


@solara.component
def WeekLabel(pair: ModelPair, weekly: Weekly) -> None:
    """The week both models are at."""
    live_text(weekly, lambda: f"week {pair.week} of {pair.horizon}", classes=["webmodel-week"])


@solara.component
def DisruptionControls(
    pair: ModelPair,
    inject: Callable[[str, str | None, int, int], None],
    message: solara.Reactive[Message | None],
) -> None:
    """Buttons that hit both models with the same shock from next week on."""
    scenario = pair.scenario
    states = scenario.state_codes
    products = sorted(
        scenario.products, key=lambda p: (not p.chokepoint, p.name not in scenario.end_items)
    )
    product_names = [p.name for p in products]
    duration = solara.use_reactive("8")
    ramp = solara.use_reactive("0")
    share = solara.use_reactive("0.2")
    state = solara.use_reactive(states[1] if len(states) > 1 else states[0])
    product = solara.use_reactive(product_names[0])
    # After "Build models" with another scenario, a kept choice may no longer exist.
    chosen_state = state.value if state.value in states else states[0]
    chosen_product = product.value if product.value in product_names else product_names[0]

    def timing() -> tuple[int, int] | None:
        try:
            weeks, recovery = int(duration.value), int(ramp.value or "0")
        except ValueError:
            message.set(("error", "Duration and recovery must be whole numbers of weeks."))
            return None
        if weeks < 1 or recovery < 0:
            message.set(("error", "Duration must be at least 1 week; recovery 0 or more weeks."))
            return None
        return weeks, recovery

    def hit(kind: str, target: Callable[[], str | None]) -> Callable[[], None]:
        def on_click() -> None:
            when = timing()
            if when is not None:
                inject(kind, target(), *when)

        return on_click

    def share_text() -> str:
        text = share.value.strip()
        try:
            float(text)
        except ValueError:
            return text or "?"  # the Disruption says what is wrong
        return text

    with solara.Card("Disrupt both models", margin=0, classes=["webmodel-disrupt"]):
        with solara.Row(gap="8px"):
            solara.InputText("duration (weeks)", value=duration, continuous_update=True)
            solara.InputText("recovery (weeks)", value=ramp, continuous_update=True)
        solara.Button(
            f"Hub assembly ({scenario.hub})",
            on_click=hit("assembly", lambda: scenario.hub),
            color="error",
            outlined=True,
            block=True,
        )
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.Select("state", values=states, value=chosen_state, on_value=state.set)
            solara.Button(
                "Cut off state",
                on_click=hit("state", lambda: chosen_state),
                color="error",
                outlined=True,
            )
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.Select(
                "product", values=product_names, value=chosen_product, on_value=product.set
            )
            solara.Button(
                "Chokepoint product",
                on_click=hit("product", lambda: chosen_product),
                color="error",
                outlined=True,
            )
        solara.InputText(
            "share of firms (random, targeted, cyber)", value=share, continuous_update=True
        )
        with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
            solara.Button(
                "Random share", on_click=hit("random", share_text), color="error", outlined=True
            )
            solara.Button(
                "Targeted share", on_click=hit("targeted", share_text), color="error", outlined=True
            )
            solara.Button(
                "Cyber outage", on_click=hit("cyber", share_text), color="error", outlined=True
            )


@solara.component
def SettingsForm(
    form: solara.Reactive[dict[str, str]],
    errors: solara.Reactive[dict[str, str]],
    message: solara.Reactive[Message | None],
    rebuild: Callable[[], None],
) -> None:
    """Scenario, wiring, seed, surge and levers; applied by "Build models" (or Reset)."""

    def field(
        key: str, label: str, hint: str | None = None, tooltip: str = "", unit: str = ""
    ) -> None:
        with solara.Tooltip(tooltip) if tooltip else contextlib.nullcontext():
            solara.InputText(
                label,
                value=form.value.get(key, ""),
                on_value=lambda text: form.set({**form.value, key: text}),
                continuous_update=True,
                error=errors.value.get(key, False),
                message=hint,
                suffix=unit or None,
            )

    def run_field(key: str, label: str, hint: str | None = None) -> None:
        """A run setting; its tooltip is its declaration's help and valid values."""
        spec = RUN_FIELDS[key][0]
        field(key, label, hint, tooltip=f"{spec.help}; {spec.rule()}")

    def lever_field(lever: Lever) -> None:
        """A scenario parameter: label, unit, help and valid values from its declaration."""
        default = lever.spec.default_text()
        if lever.choices:
            with solara.Tooltip(f"{lever.help}; {lever.rule}"):
                solara.Select(
                    f"{lever.label} (default {default})",
                    values=["", *lever.choices],
                    value=form.value.get(lever.name, ""),
                    on_value=lambda v, name=lever.name: form.set({**form.value, name: v}),
                )
        elif lever.kind == "groups":
            hint = f"{lever.help}; default: {default}"
            field(lever.name, f"{lever.label}, e.g. USA KOR JPN; USA AUS", hint)
        else:
            unit = lever.unit if len(lever.unit) <= SHORT_UNIT else ""  # longer ones: on hover
            hint = f"{lever.help}; default {default}"
            field(lever.name, lever.label, hint, f"valid: {lever.rule}", unit)

    with solara.Card("Settings", margin=0, classes=["webmodel-settings"]):
        uploaded = bool(form.value.get("uploaded"))
        scenarios = [*scenario_choices(), *([UPLOADED_SCENARIO] if uploaded else [])]
        solara.Select(
            "scenario",
            values=scenarios,
            value=form.value.get("scenario", "default"),
            on_value=lambda name: form.set({**form.value, "scenario": name}),
        )
        ScenarioUpload(form, errors, message)
        run_field("firms", "firms (blank: as in the scenario)", "scale to about this many firms")
        with solara.Row(gap="8px"):
            run_field("web_ness_left", "web_ness, left")
            run_field("web_ness_right", "web_ness, right")
        solara.Text("web_ness: 0 = hub-and-spokes, 1 = production web", style={"font-size": "80%"})
        field("seed", "seed")
        with solara.Row(gap="8px"):
            run_field("surge", "surge factor")
            run_field("surge_start", "surge from week")
        run_field("steps", "horizon (weeks)")
        sections = {
            "lever": "Policy levers (blank: the scenario's value)",
            "uncertainty": "Uncertainties: behaviour the world sets (blank: the scenario's value)",
        }
        for role, title in sections.items():
            fields = [lever for lever in levers() if lever.role == role]
            LeverSection(title, lambda fields=fields: [lever_field(f) for f in fields])
        solara.Button("Build models", on_click=rebuild, color="primary", block=True)


@solara.component
def LeverSection(title: str, fields: Callable[[], object]) -> None:
    """Like ``solara.Details``, but its fields exist only while it is open.

    Solara's renderer re-applies every widget's properties on each render of the page, so each
    widget costs every week stepped; the 25 closed lever fields were about a third of a frame.
    The values typed stay in the form when the section is closed.
    """
    expand = solara.use_reactive(False)
    with (
        rv.ExpansionPanels(
            v_model=0 if expand.value else None, on_v_model=lambda model: expand.set(model == 0)
        ),
        rv.ExpansionPanel(),
    ):
        rv.ExpansionPanelHeader(children=[title])
        with rv.ExpansionPanelContent():
            if expand.value:
                fields()


def read_upload(file: dict[str, Any]) -> bytes:
    """An upload's bytes, refusing a file over the cap before any of it is transferred."""
    size = int(file.get("size") or 0)
    if size > MAX_UPLOAD_BYTES:
        raise ScenarioError([upload_too_big(size)], "uploaded scenario")
    data = file.get("data")
    if data is None:  # lazy: read at most one byte past the cap
        data = file["file_obj"].read(MAX_UPLOAD_BYTES + 1)
    return bytes(data)


def accept_upload(
    file: dict[str, Any],
    form: solara.Reactive[dict[str, str]],
    errors: solara.Reactive[dict[str, str]],
    message: solara.Reactive[Message | None],
) -> None:
    """Validate an uploaded scenario in memory; select it, or say which field is wrong."""
    try:
        data = read_upload(file)
        scenario = parse_uploaded_scenario(data)
    except ScenarioError as error:
        errors.set({**errors.value, "scenario": "; ".join(error.problems)})
        message.set(("error", "Uploaded scenario refused: " + "; ".join(error.problems)))
        return
    form.set({**form.value, "scenario": UPLOADED_SCENARIO, "uploaded": data.decode("utf-8")})
    errors.set({k: v for k, v in errors.value.items() if k != "scenario"})
    firms = sum(group.count for group in scenario.firm_groups)
    message.set(
        (
            "success",
            f"Uploaded scenario accepted ({len(scenario.states)} states, {firms} firms); "
            "press Build models to use it.",
        )
    )


@solara.component
def ScenarioUpload(
    form: solara.Reactive[dict[str, str]],
    errors: solara.Reactive[dict[str, str]],
    message: solara.Reactive[Message | None],
) -> None:
    """Drop a scenario TOML here; it is read in memory and validated, never saved."""
    with solara.Column(gap="0px", classes=["webmodel-upload"]):
        solara.Text(
            f"or upload a scenario file (.toml, at most {MAX_UPLOAD_BYTES // 1000} kB; "
            "read in memory, never saved)",
            style={"font-size": "80%", "color": "#555"},
        )
        upload.ScenarioFileInput(on_file=lambda file: accept_upload(file, form, errors, message))
        problem = errors.value.get("scenario")
        if problem:
            solara.Text(problem, classes=["webmodel-upload-error"], style={"color": DOWN})


# --- main area -----------------------------------------------------------------------------


@solara.component
def MessageBar(message: solara.Reactive[Message | None]) -> None:
    if message.value is None:
        return
    kind, text = message.value
    alert = {"error": solara.Error, "success": solara.Success}.get(kind, solara.Info)
    with solara.Row(classes=["webmodel-message"], style={"align-items": "center"}):
        alert(text, dense=True, classes=[f"webmodel-message-{kind}"])
        solara.Button("dismiss", text=True, on_click=lambda: message.set(None))


@solara.component
def BuildProgress(text: str, cancel: Callable[[], None]) -> None:
    """A build under way in the worker; the models shown stay usable meanwhile."""
    with solara.Column(gap="0px", classes=["webmodel-building"]):
        solara.ProgressLinear(True)
        with solara.Row(style={"align-items": "center"}):
            solara.Text(text, classes=["webmodel-building-text"])
            solara.Button("Cancel build", on_click=cancel, text=True)


@solara.component
def Dashboard(
    pair: ModelPair,
    weekly: Weekly,
    shape: solara.Reactive[Shape | None],
    rendered: RenderedShapes,
) -> None:
    """Cards, networks and charts; each keeps itself current through ``weekly``. This
    component reads ``shape``, Page does not, so a new shape re-renders the dashboard only;
    ``rendered`` hears when a shape is on the page, for the play loop."""
    drawn_shape = shape.value
    solara.use_effect(lambda: rendered.mark(drawn_shape), [drawn_shape])
    started, shocks = drawn_shape or (False, 0)
    drawn = [model.network.n_firms <= FIRM_VIEW_MAX for model in pair.models]

    def make_views() -> list[NetworkView | None]:
        """The firm-level pictures, only for coalitions small enough to draw firm by firm (a
        picture of 20,000 firms' million links would take seconds and a GB to set up)."""
        if not any(drawn):
            return [None for _ in pair.models]
        layouts = shared_layouts([m.network for m in pair.models], pair.models[0].bom)
        return [
            NetworkView(model, layout, label) if draw else None
            for model, layout, label, draw in zip(
                pair.models, layouts, pair.labels, drawn, strict=True
            )
        ]

    views = solara.use_memo(make_views, [pair])
    colours = wiring_colours(list(pair.settings.web_ness))
    with solara.Columns([1, 1]):
        for k, (label, model) in enumerate(zip(pair.labels, pair.models, strict=True)):
            with solara.Column():
                MetricCard(pair, weekly, k, label, colours[k])
                view = views[k]
                if view is not None:
                    NetworkImage(pair, view, weekly)
                else:
                    solara.Text(
                        f"{model.network.n_firms:,} firms: too many to draw one by one; "
                        "the links between states are below.",
                        style={"font-size": "85%", "color": "#555"},
                    )
                FlowMatrix(pair, k, weekly)
    if started:
        DifferenceCard(pair, weekly)
    Charts(pair, weekly, shocks)
    # Service end items (ship repair) only: webmodel/app/fleet_view.py
    FleetPanel(pair, weekly, started)
    Downloads(pair)


def weekly_metrics(pair: ModelPair, weekly: Weekly) -> list[dict[str, Any]]:
    """Both models' metrics this week, computed once per change for all cards."""
    return weekly.shared(pair, "metrics", pair.metrics)  # (takes the pair's lock)


@solara.component
def MetricCard(pair: ModelPair, weekly: Weekly, index: int, label: str, colour: str) -> None:
    """One model's metrics; each metric's definition and unit on hover."""
    model = pair.models[index]

    def value(name: str) -> Callable[[], str]:
        def text() -> str:
            if not model.week:
                return "–"
            shocked = bool(model.disruptions) or model.surge != 1.0
            return format_metric(name, weekly_metrics(pair, weekly)[index].get(name), shocked)

        return text

    with solara.Card(margin=0, classes=["webmodel-card", f"webmodel-card-{index}"]):
        solara.Text(label, style={"font-weight": "bold", "color": colour, "font-size": "110%"})
        with solara.Row(gap="24px", style={"flex-wrap": "wrap"}):
            for name, meta in METRICS.items():
                with solara.Tooltip(meta.definition), solara.Column(gap="0px"):
                    solara.Text(
                        f"{meta.label} ({meta.unit})",
                        classes=[f"metric-label-{name}"],
                        # dotted: hover for the definition
                        style={
                            "font-size": "85%",
                            "color": "#444",
                            "text-decoration": "underline dotted",
                            "cursor": "help",
                        },
                    )
                    live_text(
                        weekly, value(name), classes=[f"metric-{name}"], style={"font-size": "120%"}
                    )


@solara.component
def DifferenceCard(pair: ModelPair, weekly: Weekly) -> None:
    """Right minus left for each metric, with its sign, in words (from week 1 on)."""
    left, right = pair.labels

    def difference(name: str) -> Callable[[], str]:
        def text() -> str:
            metrics = weekly_metrics(pair, weekly)
            if not all(metrics):
                return ""
            return difference_in_words(
                name, metrics[0].get(name), metrics[1].get(name), left, right
            )

        return text

    with solara.Card(f"{right} − {left}", margin=0, classes=["webmodel-difference"]):
        for name in METRICS:
            live_text(
                weekly, difference(name), classes=[f"difference-{name}"], style={"display": "block"}
            )


@solara.component
def FlowMatrix(pair: ModelPair, index: int, weekly: Weekly) -> None:
    """Supply links between states, closed ones marked (webmodel.app.flow_view)."""
    model = pair.models[index]

    def build() -> dict[str, Any]:
        with pair.lock:
            return flow_spec(model, f"{pair.labels[index]}: links between states")

    VegaChart(weekly, lambda: weekly.shared(pair, f"flows-{index}", build), f"flows-{index}")


@solara.component
def NetworkImage(pair: ModelPair, view: NetworkView, weekly: Weekly) -> None:
    """The firm-level picture (re-encoded only when something it shows changed) and, beside
    it, the week and the counts."""

    def draw() -> tuple[bytes, str]:
        with pair.lock:
            return view.frame()

    def picture() -> tuple[bytes, str]:
        return weekly.shared(view, "picture", draw)

    live_text(
        weekly,
        lambda: picture()[1],
        classes=["webmodel-network-status"],
        style={"font-size": "85%"},
    )
    live_image(weekly, lambda: picture()[0], classes=["webmodel-network"])


@solara.component
def Charts(pair: ModelPair, weekly: Weekly, shocks: int) -> None:
    """Vector charts with hover (Vega-Lite, drawn by the browser); see webmodel.app.vega.
    ``shocks``: how many are listed below them."""
    specs = solara.use_memo(lambda: ChartSpecs(pair.models, pair.labels, pair.horizon), [pair])

    def build() -> list[dict[str, Any]]:
        with pair.lock:
            return specs.specs()

    def spec(k: int) -> Callable[[], dict[str, Any]]:
        return lambda: weekly.shared(pair, "charts", build)[k]

    n_deliveries = len(specs.items)
    with solara.Columns([1, 1]):
        for k in range(n_deliveries):
            VegaChart(weekly, spec(k), f"deliveries-{k}")
    with solara.Columns([1, 1]):
        VegaChart(weekly, spec(n_deliveries), "performance")
        VegaChart(weekly, spec(n_deliveries + 1), "backlog")
    Disruptions(pair, shocks)
    ChartDownloads(pair)


@solara.component
def VegaChart(weekly: Weekly, spec: Callable[[], dict[str, Any]], name: str) -> None:
    """A Vega-Lite chart of ``spec()``. The widget is made once and its spec set directly,
    never through the renderer: Reacton walks every dict and list handed to an element on each
    render, and a spec holds thousands of numbers. The widget sends the spec only when it
    changed."""
    widget = solara.use_memo(lambda: VegaLite(spec=spec()), [])
    use_weekly(weekly, widget, lambda: {"spec": spec()})
    solara.Div(classes=["webmodel-chart", f"webmodel-chart-{name}"], children=[widget])


@solara.component
def Disruptions(pair: ModelPair, shocks: int) -> None:
    """The shocks both models got (scenario ones and those injected here), in words; ``shocks``
    is how many there are, so that one more renders this again."""
    scheduled = pair.models[0].disruptions[:shocks]
    if not scheduled:
        return
    with (
        solara.Card("Disruptions", margin=0, classes=["webmodel-disruptions"]),
        solara.Column(gap="4px"),
    ):
        for s in scheduled:
            d = s.disruption
            with solara.Tooltip(f"as a spec: {d.spec}"):
                solara.Text(disruption_in_words(d), classes=["webmodel-disruption"])


def _stem(pair: ModelPair) -> str:
    return f"webmodel-{pair.settings.scenario.replace(' ', '-')}-seed{pair.settings.seed}"


@solara.component
def ChartDownloads(pair: ModelPair) -> None:
    """The charts as files (drawn with matplotlib when pressed, at the current week)."""
    names = ("deliveries", "performance", "backlog")
    kept: dict[str, ComparisonCharts] = solara.use_memo(dict, [pair])  # built on first press

    def figure(k: int, fmt: str) -> Callable[[], bytes]:
        def data() -> bytes:
            with pair.lock:
                if "charts" not in kept:
                    kept["charts"] = ComparisonCharts(pair.models, pair.labels, pair.horizon)
                charts = kept["charts"]
                charts.update()
                return figure_bytes(charts.figures[k], fmt)

        return data

    with solara.Row(gap="4px", style={"flex-wrap": "wrap"}, classes=["webmodel-chart-downloads"]):
        for k, name in enumerate(names):
            for fmt in ("svg", "png"):
                solara.FileDownload(
                    figure(k, fmt),
                    filename=f"{_stem(pair)}-{name}.{fmt}",
                    label=f"{name} ({fmt.upper()})",
                )


@solara.component
def Downloads(pair: ModelPair) -> None:
    """Take it away: the series, and a scenario file that reproduces the view."""
    stem = _stem(pair)
    with solara.Card("Download", margin=0, classes=["webmodel-downloads"]):
        with solara.Row(gap="4px", style={"flex-wrap": "wrap"}):
            solara.FileDownload(
                lambda: series_csv(pair), filename=f"{stem}-series.csv", label="series (CSV)"
            )
            solara.FileDownload(
                lambda: series_parquet(pair),
                filename=f"{stem}-series.parquet",
                label="series (Parquet)",
            )
            solara.FileDownload(
                lambda: view_toml(pair, f"{stem}-view.toml").encode("utf-8"),
                filename=f"{stem}-view.toml",
                label="scenario + disruptions (TOML)",
            )
        solara.Text(
            "The TOML holds the scenario, the lever settings and every disruption; "
            "its first lines are the `webmodel run` commands that rebuild each side.",
            style={"font-size": "80%", "color": "#555"},
        )
