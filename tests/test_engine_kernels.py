"""The array engine's compiled kernels: compiled once, kept across re-sourcing, copyable.

That the kernels compute the model is tests/test_engine_reference.py's (engine = reference to
1e-9 across levers, disruptions, borders and services); these check how they are run.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np

from webmodel.core import kernels
from webmodel.core.model import CoalitionModel
from webmodel.core.recorder import VARIABLES

KERNELS = (
    "final_demand",
    "production",
    "rationing_shipping",
    "book_arrivals",
    "ordering",
    "adaptation",
    "forces_service",
    "record",
)


def test_each_kernel_is_compiled_for_one_signature(scenario):
    """Re-sourcing replaces the link arrays: they keep their types and layout, so no kernel is
    compiled again in the middle of a run (seconds each)."""
    from test_equilibrium import ALL_LEVERS, WIRING_PARAMETERS

    model = CoalitionModel(
        scenario.with_parameters(**WIRING_PARAMETERS),
        topology="production-web",
        steps=80,
        rng=13,
        surge=1.4,
        surge_start=4,
        disruptions=["state:KOR@6+10", "border:USA-JPN@9+12", "random:0.1@5+6"],
        **ALL_LEVERS,  # priority rationing among them
    )
    n_links = model.network.n_links
    model.run()
    assert model.network.n_links > n_links, "re-sourcing must have added links"
    assert (model.engine.link_order < 0).any(), "spare places must have reached the kernels"
    for name in KERNELS:
        assert len(getattr(kernels, name).signatures) == 1, name


def test_an_engine_copied_mid_run_goes_on_alike(scenario):
    model = CoalitionModel(scenario, steps=40, rng=2, surge=1.6, surge_start=3)
    model.run(15)
    twin = copy.deepcopy(model)
    restored = pickle.loads(pickle.dumps(model.engine))
    assert restored.kernels is kernels
    model.run()
    twin.run()
    for name in VARIABLES:
        np.testing.assert_array_equal(model.series(name), twin.series(name), err_msg=name)
