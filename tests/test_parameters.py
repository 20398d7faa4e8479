"""Each parameter is declared once (webmodel/coalition/parameters.py) and everything else is
derived from the declaration: the model's keywords, the command-line options, the sweep's
factors, the app's fields and the table in docs/levers.md."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from webmodel.analysis.sweep.parameters import model_parameters
from webmodel.app.pair import RUN_FIELDS, SettingsError, default_form, levers, parse_form
from webmodel.cli import build_parser, main
from webmodel.cli.parameters import TABLE_END, TABLE_START, with_table
from webmodel.coalition.parameters import (
    RUN_SPECS,
    SCENARIO_SPECS,
    SPECS,
    Spec,
    parameter_table,
)
from webmodel.coalition.scenario import ScenarioError
from webmodel.core.model import CoalitionModel

ROOT = Path(__file__).resolve().parents[1]
LEVERS_DOC = ROOT / "docs" / "levers.md"
# The model's own keywords, not declared parameters (and the ones a sweep may vary too).
MODEL_KEYWORDS = {"scenario", "disruptions", "network", "engine", "rng"}
SWEEP_KEYWORDS = {"scenario", "disruptions"}


def other_value(spec: Spec) -> Any:
    """A valid value of ``spec`` other than its default, small where it is a size."""
    if spec.choices:
        return next(c for c in spec.choices if c != spec.default)
    if spec.kind == "bool":
        return not spec.default
    if spec.kind == "groups":
        return [["USA", "KOR"]]
    low = spec.low or 0
    high = spec.high if spec.high is not None else low + 10
    for candidate in (low + 1, low + 0.5, (low + high) / 2, high):
        value = int(candidate) if spec.kind == "int" else float(candidate)
        if spec.check(value) is None and value != spec.default:
            return value
    raise AssertionError(f"no valid value for {spec.name}")


def as_text(value: Any) -> list[str]:
    """The value as command-line words after the option (groups: one option per group)."""
    if isinstance(value, list):
        return [",".join(value[0])]
    return [f"{value:g}" if isinstance(value, float) else str(value)]


def options_of(command: str) -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {o: a for a in sub.choices[command]._actions for o in a.option_strings}


# --- every declaration reaches every place ---------------------------------------------------


def test_the_model_signature_is_the_declarations() -> None:
    signature = inspect.signature(CoalitionModel)
    assert set(signature.parameters) - MODEL_KEYWORDS == set(SPECS)
    for name, spec in SPECS.items():
        param = signature.parameters[name]
        assert param.kind is param.KEYWORD_ONLY
        assert param.default == (spec.default if spec.scope == "run" else None), name


@pytest.mark.parametrize("name", list(SPECS))
def test_every_parameter_is_a_model_keyword_that_takes_effect(name: str) -> None:
    spec = SPECS[name]
    value = other_value(spec)
    model = CoalitionModel(**{"steps": 2, name: value}, rng=1)
    if spec.scope == "scenario":
        assert getattr(model.parameters, name) == spec.coerce(value)
    else:
        assert getattr(model.run_settings, name) == spec.coerce(value)
    model.run()  # and the model runs with it


@pytest.mark.parametrize("name", list(SPECS))
def test_every_parameter_is_a_run_option(name: str) -> None:
    spec = SPECS[name]
    options = options_of("run")
    assert spec.option in options, f"webmodel run has no {spec.option}"
    action = options[spec.option]
    assert spec.help.replace("%", "%%") in action.help
    value = other_value(spec)
    words = [spec.option] if spec.kind == "bool" else [spec.option, *as_text(value)]
    args = build_parser().parse_args(["run", *words])
    assert getattr(args, name) == value or getattr(args, name) == [tuple(value[0])]


def test_compare_has_every_option_but_the_wiring() -> None:
    options = options_of("compare")
    for spec in SPECS.values():
        wiring = spec.name in ("topology", "web_ness")  # compare runs both wirings
        assert (spec.option in options) is not wiring, spec.option
    assert options["--surge"].default == 2.0  # compare's own default
    assert options_of("run")["--surge"].default == RUN_SPECS["surge"].default


def test_help_shows_unit_rule_and_default(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--alpha-max X the most a firm can produce" in out
    assert "a number in [1, 10] (× capacity); default: as the scenario sets it, else 1.25" in out
    assert "--subtier-visibility, --no-subtier-visibility" in out
    assert "--platform STATES" in out and "e.g. USA,KOR,JPN; repeat for each group" in out
    assert "default: the topology's end point" in out


def test_every_parameter_is_a_sweep_factor() -> None:
    params = model_parameters()
    assert set(params) == set(SPECS) | SWEEP_KEYWORDS
    assert list(params) == [n for n in inspect.signature(CoalitionModel).parameters if n in params]
    for name, spec in SPECS.items():
        info = params[name]
        value = other_value(spec)
        assert info.check(value) is None, (name, value)
        if spec.high is not None:
            problem = info.check(spec.high + 1)
            assert problem is not None and spec.rule() in problem


def test_every_lever_and_uncertainty_is_an_app_field() -> None:
    assert {lever.name for lever in levers()} == set(SCENARIO_SPECS)
    shown = {lever.name for lever in levers()} | {spec.name for spec, _ in RUN_FIELDS.values()}
    wanted = {s.name for s in SPECS.values() if s.role in ("lever", "uncertainty")}
    # The app shows them all but the topology: its two web_ness fields are the wiring.
    assert wanted - shown == {"topology"}
    form = default_form()
    for lever in levers():
        value = other_value(lever.spec)
        text = "USA KOR" if lever.kind == "groups" else as_text(value)[0].lower()
        form[lever.name] = text
    parsed = parse_form(form).levers
    for lever in levers():
        assert parsed[lever.name] == other_value(lever.spec), lever.name


def test_every_parameter_is_in_the_docs_table() -> None:
    text = LEVERS_DOC.read_text()
    assert with_table(text) == text, (
        "docs/levers.md's parameter table is stale: regenerate it with "
        "`uv run webmodel parameters --update docs/levers.md`"
    )
    table = text.split(TABLE_START)[1].split(TABLE_END)[0]
    for spec in SPECS.values():
        assert f"| `{spec.name}` | `{spec.option}` | {spec.role} |" in table


def test_parameters_command(capsys, tmp_path: Path) -> None:
    assert main(["parameters", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(SPECS)
    assert main(["parameters", "--role", "setting", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out == parameter_table("setting") and "`steps`" in out and "`alpha_max`" not in out
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\n{TABLE_START}\nold\n{TABLE_END}\nafter\n")
    assert main(["parameters", "--update", str(doc)]) == 0
    assert doc.read_text() == f"# Title\n\n{TABLE_START}\n{parameter_table()}{TABLE_END}\nafter\n"
    doc.write_text("no markers\n")
    assert main(["parameters", "--update", str(doc)]) == 2
    assert "needs one <!-- parameters:start -->" in capsys.readouterr().err


# --- the case, and bad values ----------------------------------------------------------


def test_run_alpha_max_works(capsys) -> None:
    assert main(["run", "--alpha-max", "1.5", "--steps", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["alpha_max"] == 1.5


@pytest.mark.parametrize(
    ("words", "fragments"),
    [
        (["--alpha-max", "0.5"], ["argument --alpha-max", "must be a number in [1, 10]", "'0.5'"]),
        (["--steps", "2.5"], ["argument --steps", "must be an integer in [1, 1,040]", "'2.5'"]),
        (["--contract-utilisation", "0"], ["--contract-utilisation", "a number in (0, 1]"]),
        (["--platform", "USA"], ["argument --platform", "two or more state codes"]),
        (["--rationing", "lottery"], ["argument --rationing", "'lottery'"]),
    ],
)
def test_bad_option_names_the_option_and_the_rule(capsys, words, fragments) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", *words])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_bad_model_values_name_the_parameter() -> None:
    with pytest.raises(TypeError, match=r"'alpah_max' \(did you mean alpha_max\?\)"):
        CoalitionModel(alpah_max=1.5)
    with pytest.raises(ValueError, match=r"surge: must be a number in \[0, 1,000\]"):
        CoalitionModel(surge=-1)
    with pytest.raises(ValueError, match="topology: must be one of hub-and-spokes"):
        CoalitionModel(topology="star")
    with pytest.raises(ScenarioError, match=r"parameters.alpha_max: must be a number in \[1, 10\]"):
        CoalitionModel(alpha_max=0.5)


def test_bad_form_values_name_the_field_and_the_rule() -> None:
    form = {**default_form(), "investment_share": "-1", "subtier_visibility": "maybe"}
    with pytest.raises(SettingsError) as caught:
        parse_form(form)
    problems = caught.value.problems
    rule = SPECS["investment_share"].rule()
    assert problems["investment_share"] == f"investment share must be {rule}, got '-1'"
    assert problems["subtier_visibility"] == "subtier visibility must be true or false, got 'maybe'"


# --- adding a parameter is one edit ------------------------------------------------------------

ADDED = textwrap.dedent(
    """
    import dataclasses, inspect, json
    import webmodel.coalition.parameters as P

    # The one edit: a new declared field (here on a subclass, instead of editing the file).
    @dataclasses.dataclass(frozen=True)
    class Parameters(P.Parameters):
        dry_powder: float = P.declare(
            0.0, "weeks", "a test parameter", "lever", low=0, high=5
        )

    P.Parameters = Parameters
    added = P._specs(Parameters, "scenario")
    P.SCENARIO_SPECS.update(added)
    P.SPECS.update(added)

    from webmodel.analysis.sweep.parameters import model_parameters
    from webmodel.app.pair import levers, parse_form, default_form
    from webmodel.cli import build_parser
    from webmodel.core.model import CoalitionModel

    model = CoalitionModel(dry_powder=2.5, steps=2, rng=1)
    args = build_parser().parse_args(["run", "--dry-powder", "3"])
    form = {**default_form(), "dry_powder": "1.5"}
    print(json.dumps({
        "model": model.parameters.dry_powder,
        "signature": "dry_powder" in inspect.signature(CoalitionModel).parameters,
        "option": args.dry_powder,
        "sweep": model_parameters()["dry_powder"].check(6),
        "app": parse_form(form).levers,
        "table": "`--dry-powder`" in P.parameter_table(),
    }))
    """
)


def test_a_new_declaration_shows_up_everywhere() -> None:
    out = subprocess.run(
        [sys.executable, "-c", ADDED], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    found = json.loads(out)
    assert found == {
        "model": 2.5,
        "signature": True,
        "option": 3.0,
        "sweep": "must be a number in [0, 5] (weeks), got 6",
        "app": {"dry_powder": 1.5},
        "table": True,
    }
