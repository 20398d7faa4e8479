"""Two models side by side for the app: same scenario and seed, stepped in lockstep.

This module holds everything the app does that is not drawing: reading the form (every field
arrives as text, so a seed typed as "abc" must become a message, not a crash), building the two
models, stepping them together and hitting both with the same disruption. Keeping it free of
Solara makes it testable in plain pytest and usable from a notebook.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from webmodel.coalition.disruptions import Disruption
from webmodel.coalition.parameters import MAX_SEED, RUN_SPECS, SCENARIO_SPECS, Spec
from webmodel.coalition.scenario import (
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from webmodel.coalition.topology import resolve_web_ness
from webmodel.core.metrics import compute_metrics, performance
from webmodel.core.model import CoalitionModel

UPLOADED_SCENARIO = "uploaded file"  # the menu entry of a scenario the user uploaded
MAX_UPLOAD_BYTES = 1_000_000  # a scenario is a few kB; a bigger upload is refused unread
APP_MAX_FIRMS = 20_000  # beyond this one step and one frame take seconds; the app is for exploring
# Links one model may hold in the app (a shared server): about 300 MB per model at this size.
# The production web has about firms x inputs per firm x suppliers per input links; at 20,000
# firms and 100 suppliers per input that is 5.8 million links, 1.4 GB and 10 s to build.
MAX_LINKS = 1_000_000
APP_SURGE = 2.0  # the app compares the wirings under a demand surge, as `webmodel compare` does


class SettingsError(ValueError):
    """The form has problems; ``problems`` maps a field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


# --- scenarios and levers ------------------------------------------------------------------


def scenario_choices() -> list[str]:
    """The built-in scenarios for the form's menu, "default" first."""
    return sorted(builtin_scenarios(), key=lambda n: n != "default")


def load_named_scenario(name: str, uploaded: str = "") -> Scenario:
    """A built-in scenario by name, or (for :data:`UPLOADED_SCENARIO`) the uploaded TOML text.

    The app never opens a path it is given: a name that is not a built-in scenario is refused,
    whatever it looks like (``/etc/passwd``, ``~``, ``../x.toml``).
    """
    if name == UPLOADED_SCENARIO:
        if not uploaded:
            raise ScenarioError(["scenario: upload a scenario file first"], "scenario")
        return parse_uploaded_scenario(uploaded.encode("utf-8"))
    if name == "default":
        return load_scenario(None)
    if name not in builtin_scenarios():
        raise ScenarioError(["scenario: not one of the built-in scenarios"], "scenario")
    return load_scenario(
        Path(str(resources.files("webmodel.coalition.scenarios").joinpath(f"{name}.toml")))
    )


# In a message about an uploaded file, what the file holds is left out: quoted values, the
# "got ..." that repeats a value, and lists in parentheses (which may list the file's names).
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_GOT = re.compile(r",? got .*$")
_LISTED = re.compile(r"\s*\([^)]*\)")


def redact(problem: str) -> str:
    """A validation message without the file's contents: the field's name and the problem."""
    problem = _GOT.sub("", problem)
    problem = _LISTED.sub("", problem)
    return _QUOTED.sub("(a value in the file)", problem)


def parse_uploaded_scenario(data: bytes, max_firms: int | None = None) -> Scenario:
    """A scenario from an uploaded file's bytes, parsed in memory and validated.

    Raises:
        ScenarioError: too big, not UTF-8, not TOML, nested too deeply, or invalid; the messages
            name the field and the problem, never the file's values.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError([upload_too_big(len(data))], "uploaded scenario")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError(
            [f"scenario file: not UTF-8 text (byte {err.start})"], "uploaded scenario"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # Only where it is, not what the line holds (tomllib's messages name no content).
        at = re.search(r"line (\d+), column (\d+)", str(err))
        where = f" at line {at[1]}, column {at[2]}" if at else ""
        raise ScenarioError(
            [f"scenario file: not valid TOML{where}"], "uploaded scenario"
        ) from None
    except RecursionError:
        raise ScenarioError(
            ["scenario file: nested too deeply to be a scenario"], "uploaded scenario"
        ) from None
    try:
        scenario = parse_scenario(raw, "uploaded scenario")
    except ScenarioError as err:
        raise ScenarioError([redact(p) for p in err.problems], "uploaded scenario") from None
    except RecursionError:
        raise ScenarioError(
            ["scenario file: nested too deeply to be a scenario"], "uploaded scenario"
        ) from None
    firms = sum(group.count for group in scenario.firm_groups)
    limit = max_firms or APP_MAX_FIRMS
    if firms > limit:
        raise ScenarioError(
            [f"firms: the file's firm groups hold {firms} firms, more than the app's {limit}"],
            "uploaded scenario",
        )
    return scenario


def upload_too_big(size: int) -> str:
    return (
        f"scenario file: {size / 1e6:.1f} MB is more than the {MAX_UPLOAD_BYTES / 1e6:g} MB "
        "limit (a scenario is a few kB)"
    )


@dataclass(frozen=True)
class Lever:
    """A form field for one scenario parameter (a policy lever or an uncertainty), made from its
    declaration: label, unit, valid values, default and help."""

    spec: Spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        """ "float", "int", "bool", "str" or "groups" (lists of state codes)."""
        return self.spec.kind

    @property
    def role(self) -> str:
        return self.spec.role

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def default(self) -> Any:
        """The declared default (None: ``none_means``, e.g. follows the topology)."""
        return self.spec.default

    @property
    def unit(self) -> str:
        return self.spec.unit

    @property
    def help(self) -> str:
        return self.spec.help

    @property
    def choices(self) -> tuple[str, ...]:
        return ("true", "false") if self.kind == "bool" else self.spec.choices

    @property
    def rule(self) -> str:
        """What a valid value is, in words (the declaration's rule)."""
        return self.spec.rule()


def levers() -> list[Lever]:
    """A field for every scenario parameter, levers first, then uncertainties, each in
    declaration order. Read from the declarations, so a new parameter shows up in the app."""
    specs = list(SCENARIO_SPECS.values())
    return [Lever(s) for role in ("lever", "uncertainty") for s in specs if s.role == role]


# --- the form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the two models are built from (validated)."""

    scenario: str = "default"
    uploaded: str = ""  # the uploaded scenario's TOML text (for UPLOADED_SCENARIO)
    firms: int | None = None
    web_ness: tuple[float, float] = (0.0, 1.0)
    seed: int = 1
    surge: float = APP_SURGE
    surge_start: int = RUN_SPECS["surge_start"].default
    steps: int = RUN_SPECS["steps"].default
    levers: dict[str, Any] = field(default_factory=dict)


# The run settings the form shows: (form field, declaration, what the messages call it). The
# app caps the firms, since it draws every one of them each week.
RUN_FIELDS = {
    "firms": (replace(RUN_SPECS["firms"], high=APP_MAX_FIRMS), "firms"),
    "surge": (RUN_SPECS["surge"], "surge factor"),
    "surge_start": (RUN_SPECS["surge_start"], "surge start"),
    "steps": (RUN_SPECS["steps"], "horizon"),
    "web_ness_left": (RUN_SPECS["web_ness"], "web_ness (left)"),
    "web_ness_right": (RUN_SPECS["web_ness"], "web_ness (right)"),
}


def default_form() -> dict[str, str]:
    """The form's fields as text, as the app shows them at start."""
    defaults = Settings()
    form = {
        "scenario": defaults.scenario,
        "firms": "",
        "web_ness_left": f"{defaults.web_ness[0]:g}",
        "web_ness_right": f"{defaults.web_ness[1]:g}",
        "seed": str(defaults.seed),
        "surge": f"{defaults.surge:g}",
        "surge_start": str(defaults.surge_start),
        "steps": str(defaults.steps),
    }
    form.update({lever.name: "" for lever in levers()})
    return form


def _parsed(spec: Spec, text: str, problems: dict[str, str], key: str, what: str) -> Any:
    """``text`` as a value of ``spec``, or None with the problem recorded under ``key``."""
    text = text.strip()
    if not text:
        problems[key] = f"{what} is required"
        return None
    try:
        return spec.parse(text)
    except ValueError as err:
        problems[key] = f"{what} {err}"
        return None


def _state_groups(text: str) -> list[list[str]]:
    """'USA KOR JPN; USA AUS' (or with '-' and ','): groups of state codes."""
    groups = [g.replace("-", " ").split() for g in re.split(r"[;,]", text)]
    return [g for g in groups if g]


def parse_form(form: Mapping[str, str]) -> Settings:
    """Check every field and build :class:`Settings`; raise :class:`SettingsError` listing all
    problems at once (so the user fixes them in one go). Each field is checked by its
    parameter's declaration, and its message says the declaration's rule."""
    problems: dict[str, str] = {}
    get = lambda key: str(form.get(key, "") or "")  # noqa: E731

    seed = None
    text = get("seed").strip()
    try:
        seed = int(text)
    except ValueError:
        problems["seed"] = (
            f"seed must be a whole number, got {text[:20]!r}" if text else "seed is required"
        )
    else:
        if not 0 <= seed <= MAX_SEED:
            problems["seed"] = f"seed must be a whole number in [0, {MAX_SEED}], got {seed}"
            seed = None
    run: dict[str, Any] = {}
    for key, (spec, what) in RUN_FIELDS.items():
        if key == "firms" and not get(key).strip():
            run[key] = None  # blank: the scenario's own firms
            continue
        run[key] = _parsed(spec, get(key), problems, key, what)
    lever_values: dict[str, Any] = {}
    for lever in levers():
        text = get(lever.name).strip()
        if not text:
            continue
        if lever.kind == "groups":
            groups = _state_groups(text)
            problem = lever.spec.check(groups) if groups else "no groups given"
            if problem:
                problems[lever.name] = f"{lever.label}: give groups like 'USA KOR JPN; USA AUS'"
            else:
                lever_values[lever.name] = groups
            continue
        value = _parsed(lever.spec, text, problems, lever.name, lever.label)
        if value is not None:
            lever_values[lever.name] = value
    scenario = get("scenario") or "default"
    if scenario == UPLOADED_SCENARIO and not get("uploaded"):
        problems["scenario"] = "scenario: upload a scenario file first"
    elif scenario not in (UPLOADED_SCENARIO, *builtin_scenarios()):
        problems["scenario"] = "scenario: not one of the built-in scenarios"
    if problems:
        raise SettingsError(problems)
    return Settings(
        scenario=scenario,
        uploaded=get("uploaded"),
        firms=run["firms"],
        web_ness=(run["web_ness_left"], run["web_ness_right"]),
        seed=seed,
        surge=run["surge"],
        surge_start=run["surge_start"],
        steps=run["steps"],
        levers=lever_values,
    )


def projected_links(scenario: Scenario, settings: Settings) -> int:
    """About how many links the production web of these settings has, before building it:
    firms x mean inputs per firm x suppliers per input, plus one demand link per firm."""
    groups = scenario.firm_groups
    inputs = {p.name: len(p.inputs) for p in scenario.products}
    firms_in_file = sum(g.count for g in groups)
    firms = settings.firms or firms_in_file
    per_firm = sum(g.count * inputs.get(g.product, 0) for g in groups) / max(firms_in_file, 1)
    k = settings.levers.get("suppliers_per_input", scenario.parameters.suppliers_per_input)
    return int(firms * per_firm * k + firms)


def check_budget(settings: Settings) -> Scenario:
    """The scenario of ``settings``, if the models fit the app's budget; else
    :class:`SettingsError` naming the fields that size them (nothing is allocated)."""
    scenario = load_named_scenario(settings.scenario, settings.uploaded)
    links = projected_links(scenario, settings)
    if links > MAX_LINKS:
        what = (
            f"about {links:,} links per model, more than the app's {MAX_LINKS:,}: lower "
            "suppliers per input or firms (the command line takes larger runs)"
        )
        problems = {"firms": f"firms: {what}"}
        if "suppliers_per_input" in settings.levers:
            problems["suppliers_per_input"] = f"suppliers per input: {what}"
        raise SettingsError(problems)
    return scenario


# --- the pair of models --------------------------------------------------------------------


@dataclass(frozen=True)
class Injected:
    """A disruption the user added while the models ran (the same one for both)."""

    disruption: Disruption  # as scheduled (start moved to the next week)
    hits: tuple[str, ...]  # per model, e.g. "15 firms" or "38 links"


class ModelPair:
    """Two CoalitionModels from the same scenario and seed, differing only in wiring.

    Both are stepped together and get the same surge and the same disruptions, in the same
    order, so any difference in the charts comes from the wiring. A lock serialises stepping
    and injecting, since the app's play loop steps in a thread while buttons can be clicked.

    ``check`` is called between the build's stages (after the scenario and after each model):
    a worker building for a session passes one that raises when the build is no longer wanted
    (webmodel.app.builds), so a cancelled build stops at the next stage.

    Raises:
        ScenarioError, ValueError: the scenario or a lever value is invalid (the message says
            which), so the caller can show it and keep the previous models.
    """

    def __init__(self, settings: Settings, check: Callable[[], None] | None = None) -> None:
        check = check or (lambda: None)
        self.settings = settings
        scenario = load_named_scenario(settings.scenario, settings.uploaded)
        self.labels: list[str] = []
        self.models: list[CoalitionModel] = []
        for w in settings.web_ness:
            check()
            label, _ = resolve_web_ness(None, w)
            self.labels.append(label if label != f"web-ness-{w:g}" else f"web_ness {w:g}")
            self.models.append(
                CoalitionModel(
                    scenario=scenario,
                    web_ness=w,
                    firms=settings.firms,
                    surge=settings.surge,
                    surge_start=settings.surge_start,
                    steps=settings.steps,
                    rng=settings.seed,
                    **settings.levers,
                )
            )
        check()
        if self.labels[0] == self.labels[1]:
            self.labels = [f"{self.labels[0]} (left)", f"{self.labels[1]} (right)"]
        self.injected: list[Injected] = []
        # Held while stepping, injecting and drawing: the play loop steps in a thread while a
        # click can trigger a redraw in another, and a half-done week must not be drawn.
        self.lock = threading.RLock()

    @property
    def week(self) -> int:
        return self.models[0].week

    @property
    def horizon(self) -> int:
        return self.settings.steps

    @property
    def scenario(self) -> Scenario:
        return self.models[0].coalition

    def step(self, weeks: int = 1) -> None:
        """Advance both models ``weeks`` weeks, one week at a time each."""
        with self.lock:
            for _ in range(weeks):
                for model in self.models:
                    model.step()

    def inject(self, kind: str, target: str | None, duration: int, ramp: int = 0) -> Injected:
        """Hit both models with the same disruption, starting next week.

        Raises:
            ValueError: the disruption is invalid (its message says why); neither model is
                changed then.
        """
        disruption = Disruption(
            kind=kind,
            target=target,
            start=self.week + 1,
            duration=duration,
            recovery="linear" if ramp > 0 else "instant",
            recovery_weeks=ramp,
        )
        with self.lock:
            scheduled = [model.add_disruption(disruption) for model in self.models]
        hits = []
        for s in scheduled:
            if s.firms is not None:
                hits.append(f"{len(s.firms)} firms")
            else:
                hits.append(f"{0 if s.links is None else len(s.links)} links")
        injected = Injected(scheduled[0].disruption, tuple(hits))
        self.injected.append(injected)
        return injected

    def metrics(self) -> list[dict[str, Any]]:
        """compute_metrics for each model, for the weeks done so far (empty before week 1)."""
        with self.lock:
            if self.week == 0:
                return [{} for _ in self.models]
            return [compute_metrics(model) for model in self.models]

    def performance(self) -> list[Any]:
        with self.lock:
            return [performance(model) for model in self.models]
