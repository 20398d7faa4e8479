"""Both engines run the declared phases of the weekly step, in the declared order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webmodel.core.model import ENGINES, CoalitionModel
from webmodel.core.phases import PHASES

README = Path(__file__).resolve().parents[1] / "README.md"


def _record_phase_calls(engine) -> list[str]:
    """Wrap every private method of the engine and note the ones ``step`` calls directly (a
    phase's own helpers run deeper and are not noted), so a call that is not a declared phase
    shows up too."""
    calls: list[str] = []
    depth = [0]
    for name in dir(type(engine)):
        if not re.fullmatch(r"_[a-z]\w*", name) or not callable(getattr(engine, name)):
            continue
        method = getattr(engine, name)

        def wrapped(*args, _name=name[1:], _method=method, **kwargs):
            if depth[0] == 0:
                calls.append(_name)
            depth[0] += 1
            try:
                return _method(*args, **kwargs)
            finally:
                depth[0] -= 1

        setattr(engine, name, wrapped)
    return calls


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_engine_step_runs_exactly_the_phases_in_order(scenario, engine):
    model = CoalitionModel(scenario, steps=3, rng=1, engine=engine, surge=2.0)
    calls = _record_phase_calls(model.engine)
    model.step()
    assert calls == list(PHASES)
    model.step()
    assert calls == 2 * list(PHASES)


def test_every_phase_is_a_method_of_both_engines():
    for engine in ENGINES.values():
        for phase in PHASES:
            assert callable(getattr(engine, f"_{phase}", None)), f"{engine.__name__}: {phase}"
    assert len(set(PHASES)) == len(PHASES)


def test_readme_lists_the_phases_in_order():
    """The README's numbered list under "The model" names exactly PHASES (e.g. **Forces'
    service** for forces_service, **Re-sourcing** for resourcing)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## The model", 1)[1].split("\n#", 1)[0]
    labels = re.findall(r"^\d+\. \*\*([^*]+)\*\*", section, flags=re.MULTILINE)
    names = [re.sub(r"['’-]", "", label).lower().replace(" ", "_") for label in labels]
    assert names == list(PHASES)
