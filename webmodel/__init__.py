"""webmodel: an agent-based model of allied defense production, hub-and-spokes vs production web.

From Python (a notebook, a script)::

    import webmodel

    model = webmodel.CoalitionModel(topology="hub-and-spokes", surge=2.0, rng=1).run()
    frame = model.to_frame()  # tidy pandas DataFrame: week, variable, state, end_item, value

    summary = webmodel.run_sweep("experiments/example.toml", "results/example", workers=2)
    runs = summary.results().to_pandas()  # or webmodel.SweepResults.load("results/example")

The names below are imported when first used, so ``import webmodel`` (and the command line)
stays fast: the model pulls in Mesa, which alone takes a second or more to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webmodel.analysis.report.data import SweepResults
    from webmodel.analysis.sweep.scheduler import run_sweep
    from webmodel.coalition.scenario import Scenario, load_scenario
    from webmodel.core.model import CoalitionModel

    __version__: str

# public name -> the module that defines it
_EXPORTS = {
    "CoalitionModel": "webmodel.core.model",
    "Scenario": "webmodel.coalition.scenario",
    "load_scenario": "webmodel.coalition.scenario",
    "run_sweep": "webmodel.analysis.sweep.scheduler",
    "SweepResults": "webmodel.analysis.report.data",
}

__all__ = [
    "CoalitionModel",
    "Scenario",
    "SweepResults",
    "__version__",
    "load_scenario",
    "run_sweep",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from webmodel.io.version import package_version

        return package_version()
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'webmodel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
