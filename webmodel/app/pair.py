"""Two models side by side for the app: same scenario and seed, stepped in lockstep.

This module holds everything the app does that is not drawing: reading the form (every field
arrives as text, so a seed typed as "abc" must become a message, not a crash), building the two
models, stepping them together and hitting both with the same disruption. Keeping it free of
Solara makes it testable in plain pytest and usable from a notebook.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from webmodel.coalition import scenario as scenario_module
from webmodel.coalition.disruptions import Disruption
from webmodel.coalition.scenario import (
    Parameters,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
)
from webmodel.coalition.topology import resolve_web_ness
from webmodel.core.metrics import compute_metrics, performance
from webmodel.core.model import CoalitionModel

CUSTOM_SCENARIO = "other file..."
# Keyword arguments of CoalitionModel the app sets itself (everything else that is also a
# scenario Parameter is a policy lever and gets a control of its own).
_NOT_LEVERS = {
    "scenario",
    "topology",
    "web_ness",
    "firms",
    "surge",
    "surge_start",
    "steps",
    "disruptions",
    "network",
    "engine",
    "rng",
}
MAX_FIRMS = 20_000  # beyond this one step and one frame take seconds; the app is for exploring


class SettingsError(ValueError):
    """The form has problems; ``problems`` maps a field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


# --- scenarios and levers ------------------------------------------------------------------


def scenario_choices() -> list[str]:
    """The built-in scenarios for the form's menu, "default" first."""
    return sorted(builtin_scenarios(), key=lambda n: n != "default")


def load_named_scenario(name: str, path: str = "") -> Scenario:
    """A built-in scenario by name, or (for :data:`CUSTOM_SCENARIO`) the file at ``path``."""
    if name == CUSTOM_SCENARIO:
        if not path.strip():
            raise ScenarioError(["scenario file: give the path of a TOML file"], "scenario")
        return load_scenario(Path(path.strip()).expanduser())
    if name == "default":
        return load_scenario(None)
    if name not in builtin_scenarios():
        raise ScenarioError([f"unknown built-in scenario {name!r}"], "scenario")
    return load_scenario(
        Path(str(resources.files("webmodel.coalition.scenarios").joinpath(f"{name}.toml")))
    )


@dataclass(frozen=True)
class Lever:
    """A policy lever: a keyword of CoalitionModel that overrides a scenario parameter."""

    name: str
    kind: str  # "int", "float", "bool", "choice", "text" or "groups" (lists of states)
    default: Any  # the built-in Parameters default (None: follows the topology / scenario)
    help: str
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def _parameter_help() -> dict[str, str]:
    """First sentence of each attribute's description in the Parameters docstring."""
    doc = inspect.getdoc(Parameters) or ""
    found: dict[str, str] = {}
    for match in re.finditer(r"^\s{4}(\w+): (.+?)(?=^\s{4}\w+: |\Z)", doc, re.M | re.S):
        text = " ".join(match[2].split())
        found[match[1]] = text.split(". ")[0].rstrip(".")
    return found


def levers() -> list[Lever]:
    """The policy levers CoalitionModel takes now, in its signature's order.

    Read from the signature (not a fixed list) so a lever added to the model shows up in the app
    without touching it.
    """
    signature = inspect.signature(CoalitionModel.__init__)
    parameter_fields = {f.name: f for f in fields(Parameters)}
    help_text = _parameter_help()
    out = []
    for name, param in signature.parameters.items():
        if name in _NOT_LEVERS or name == "self" or name not in parameter_fields:
            continue
        annotation = str(param.annotation)
        default = parameter_fields[name].default
        # A string lever's allowed values: scenario.py's NAME_RULES, e.g. RATIONING_RULES.
        rules = tuple(getattr(scenario_module, f"{name.upper()}_RULES", ()))
        if "Sequence[Sequence[str]]" in annotation:
            kind, choices = "groups", ()
        elif "bool" in annotation:
            kind, choices = "bool", ("true", "false")
        elif "str" in annotation:
            kind, choices = ("choice", rules) if rules else ("text", ())
        elif "int" in annotation:
            kind, choices = "int", ()
        elif "float" in annotation:
            kind, choices = "float", ()
        else:
            continue
        out.append(Lever(name, kind, default, help_text.get(name, ""), tuple(choices)))
    return out


# --- the form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the two models are built from (validated)."""

    scenario: str = "default"
    scenario_path: str = ""
    firms: int | None = None
    web_ness: tuple[float, float] = (0.0, 1.0)
    seed: int = 1
    surge: float = 2.0
    surge_start: int = 10
    steps: int = 104
    levers: dict[str, Any] = field(default_factory=dict)


def default_form() -> dict[str, str]:
    """The form's fields as text, as the app shows them at start."""
    form = {
        "scenario": "default",
        "scenario_path": "",
        "firms": "",
        "web_ness_left": "0",
        "web_ness_right": "1",
        "seed": "1",
        "surge": "2",
        "surge_start": "10",
        "steps": "104",
    }
    form.update({lever.name: "" for lever in levers()})
    return form


def _number(text: str, kind: type, problems: dict[str, str], name: str, what: str) -> Any:
    text = text.strip()
    try:
        return kind(text)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        problems[name] = f"{what} must be {noun}, got {text!r}" if text else f"{what} is required"
        return None


def parse_form(form: Mapping[str, str]) -> Settings:
    """Check every field and build :class:`Settings`; raise :class:`SettingsError` listing all
    problems at once (so the user fixes them in one go)."""
    problems: dict[str, str] = {}
    get = lambda key: str(form.get(key, "") or "")  # noqa: E731

    seed = _number(get("seed"), int, problems, "seed", "seed")
    surge = _number(get("surge"), float, problems, "surge", "surge factor")
    if surge is not None and not 0 <= surge <= 100:
        problems["surge"] = f"surge factor must be between 0 and 100, got {surge:g}"
    surge_start = _number(get("surge_start"), int, problems, "surge_start", "surge start")
    if surge_start is not None and surge_start < 1:
        problems["surge_start"] = f"surge start must be a week >= 1, got {surge_start}"
    steps = _number(get("steps"), int, problems, "steps", "horizon")
    if steps is not None and not 1 <= steps <= 2000:
        problems["steps"] = f"horizon must be between 1 and 2000 weeks, got {steps}"
    web_ness = []
    for side in ("left", "right"):
        key = f"web_ness_{side}"
        value = _number(get(key), float, problems, key, f"web_ness ({side})")
        if value is not None and not 0 <= value <= 1:
            problems[key] = f"web_ness ({side}) must be between 0 and 1, got {value:g}"
        web_ness.append(value)
    firms = None
    if get("firms").strip():
        firms = _number(get("firms"), int, problems, "firms", "firms")
        if firms is not None and not 1 <= firms <= MAX_FIRMS:
            problems["firms"] = f"firms must be between 1 and {MAX_FIRMS:,}, got {firms}"
    lever_values: dict[str, Any] = {}
    for lever in levers():
        text = get(lever.name).strip()
        if not text:
            continue
        if lever.kind in ("choice", "bool"):
            if text not in lever.choices:
                problems[lever.name] = f"{lever.label} must be one of {', '.join(lever.choices)}"
            else:
                lever_values[lever.name] = text == "true" if lever.kind == "bool" else text
            continue
        if lever.kind == "text":
            lever_values[lever.name] = text
            continue
        if lever.kind == "groups":
            # "USA KOR JPN; USA AUS" (or with "-" and ","): groups of state codes.
            groups = [g.replace("-", " ").split() for g in re.split(r"[;,]", text)]
            groups = [g for g in groups if g]
            if not groups:
                problems[lever.name] = f"{lever.label}: give groups like 'USA KOR JPN; USA AUS'"
            else:
                lever_values[lever.name] = groups
            continue
        kind = int if lever.kind == "int" else float
        value = _number(text, kind, problems, lever.name, lever.label)
        if value is not None:
            lever_values[lever.name] = value
    scenario = get("scenario") or "default"
    if scenario == CUSTOM_SCENARIO and not get("scenario_path").strip():
        problems["scenario_path"] = "give the path of a scenario TOML file"
    if problems:
        raise SettingsError(problems)
    return Settings(
        scenario=scenario,
        scenario_path=get("scenario_path"),
        firms=firms,
        web_ness=(web_ness[0], web_ness[1]),
        seed=seed,
        surge=surge,
        surge_start=surge_start,
        steps=steps,
        levers=lever_values,
    )


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

    Raises:
        ScenarioError, ValueError: the scenario or a lever value is invalid (the message says
            which), so the caller can show it and keep the previous models.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        scenario = load_named_scenario(settings.scenario, settings.scenario_path)
        self.labels: list[str] = []
        self.models: list[CoalitionModel] = []
        for w in settings.web_ness:
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
