"""What a wiring is, at baseline: stock in transit, idle capacity, each state's import share.

These describe the network, not a run: two wirings of the same firms differ in how much they
ship across borders, how much stock sits in the pipeline and which firms won no contract, and
those differences explain much of what a shock then does (``docs/metrics.md``, "Structure").
``webmodel run --json`` and ``webmodel compare`` print them under ``structure``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from webmodel.coalition.network import Network


def structure_report(network: Network) -> dict[str, Any]:
    """The wiring's baseline structure (flows are the equilibrium ones, before any shock).

    - ``in_transit``: units shipped and not yet arrived (sum of flow x lead time over links);
      ``in_transit_weeks``: the same over one week's shipments (the flow-weighted lead time);
    - ``idle_firms`` / ``idle_capacity_share``: firms with no baseline output (no customer) and
      their share of all capacity; ``spare_capacity_share``: 1 - baseline output / capacity;
    - ``import_share``: per state, the share of the input units its firms buy that come from
      another state (units of every product added up, as the flows are);
      ``end_item_import_share``: per state, the same for the end items its forces receive;
    - ``cross_border_flow_share``: share of all shipped units that cross a border.
    """
    flow = network.baseline_link_flow()
    lead = network.link_lead.astype(float)
    cross = network.link_cross_border
    buyer_state = network.link_buyer_state
    firm_link = network.slot_firm[network.link_slot] >= 0
    codes = network.state_codes
    n_states = len(codes)
    base = network.baseline_output
    capacity = network.firms.capacity
    idle = base <= 1e-12 * max(1.0, float(base.max()))

    def import_share(links: np.ndarray) -> dict[str, float | None]:
        bought = np.bincount(buyer_state[links], flow[links], minlength=n_states)
        imported = np.bincount(buyer_state[links], flow[links] * cross[links], minlength=n_states)
        return {
            code: (float(imported[s] / bought[s]) if bought[s] > 0 else None)
            for s, code in enumerate(codes)
        }

    shipped = float(flow.sum())
    in_transit = float((flow * lead).sum())
    return {
        "in_transit": in_transit,
        "in_transit_weeks": in_transit / shipped if shipped > 0 else 0.0,
        "idle_firms": int(idle.sum()),
        "idle_capacity_share": float(capacity[idle].sum() / capacity.sum()),
        "spare_capacity_share": float(1.0 - base.sum() / capacity.sum()),
        "cross_border_flow_share": float(flow[cross].sum() / shipped) if shipped > 0 else 0.0,
        "import_share": import_share(np.flatnonzero(firm_link)),
        "end_item_import_share": import_share(np.flatnonzero(~firm_link)),
    }
