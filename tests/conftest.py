"""Shared fixtures: the default scenario, and models in every topology."""

from __future__ import annotations

import pytest

from webmodel.coalition.scenario import Scenario, default_scenario

# The three wirings every structural test covers: hub-and-spokes, a half-way dial, the web.
WEB_NESS_LEVELS = (0.0, 0.5, 1.0)


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return default_scenario()
