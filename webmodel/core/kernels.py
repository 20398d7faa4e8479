"""Compiled kernels of the array engine's weekly step (numba, cached on disk).

Each kernel is the arithmetic of one phase of :class:`webmodel.core.engine.ArrayEngine` written
as plain loops, which numba compiles to machine code: one pass over the links or the firms does
what took the numpy engine a dozen whole-array operations (each a pass over memory of its own).
The arithmetic is the numpy engine's, operation for operation; only some sums are added up in
another order (rounding), and :mod:`webmodel.core.reference` still checks them to 1e-9.

Importing this module imports numba (about 0.2 s of CPU); the first call of each kernel in a
process loads it from numba's on-disk cache (``cache=True``; about 0.3 s for all), or compiles
it the first time ever (about 5 s). The engine imports this module when a model is built, not
before, so commands that build no model do not pay for it.

Layout the kernels assume (the engine's, see ``ArrayEngine._index_links``): link arrays are in
engine order, links to firms (slot < n_firm_slots, the first n_firm_links) before links to
states; the ``product_starts`` runs cover the links in order, each of one product (a product
may have several runs); ``0 <= lead < horizon``; ``pipeline`` is (horizon, links) and holds just
what is in transit (this week's row is cleared once booked, so a re-layout may copy it); every
index is >= 0 (a spare place of the engine's incremental rewire copies a real link's supplier,
slot and lead, with weight, orders and backlog 0, so it adds nothing). Arrays of another
dtype or layout work too, but are compiled again (seconds).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# error_model="numpy": a division by zero gives inf or nan, as in numpy, instead of raising.
_compiled = njit(cache=True, error_model="numpy")

# A link delivering less than this share of its order is failing its buyer (the margin keeps
# rounding noise from deciding a tie at exactly one half).
FAILING_SHARE = 0.5 - 1e-9
# Demand above ceiling x this is a shortage (a margin for rounding noise).
SHORT_MARGIN = 1 + 1e-9


@_compiled
def final_demand(
    demand, n_firm_links, n_firm_slots, weight, slot, supplier, order, backlog, link_open,
    closed, priority, baseline_flow, firm_demand, first_total, extra_total,
):  # fmt: skip
    """States' orders on their links; each firm's demand, what its links may receive (wanted
    = order + backlog, times the link's openness if a border is closed); under priority
    rationing also the part of it up to the pre-shock flow (first) and the rest (extra)."""
    n = order.shape[0]
    for k in range(n_firm_links, n):
        order[k] = weight[k] * demand[_index(slot[k] - n_firm_slots)]
    firm_demand[:] = 0.0
    if priority:
        first_total[:] = 0.0
        extra_total[:] = 0.0
    for k in range(n):
        deliverable = order[k] + backlog[k]
        if closed:
            deliverable = deliverable * link_open[k]
        s = _index(supplier[k])
        firm_demand[s] += deliverable
        if priority:
            first = min(deliverable, baseline_flow[k])
            first_total[s] += first
            extra_total[s] += deliverable - first


@_compiled
def production(
    alpha, availability, capacity, firm_demand, stock, slot_coef, slot_firm, ceiling,
    input_bound, output, used,
):  # fmt: skip
    """Ceiling (alpha x availability x capacity), the scarcest input, and output = the least
    of ceiling, demand and inputs (Leontief); inputs used come out of stock."""
    for f in range(alpha.shape[0]):
        ceiling[f] = alpha[f] * availability[f] * capacity[f]
        input_bound[f] = np.inf
    for s in range(stock.shape[0]):
        f = _index(slot_firm[s])
        input_bound[f] = np.minimum(input_bound[f], stock[s] / slot_coef[s])
    for f in range(alpha.shape[0]):
        output[f] = min(min(ceiling[f], firm_demand[f]), input_bound[f])
    for s in range(stock.shape[0]):
        used[s] = slot_coef[s] * output[_index(slot_firm[s])]
        stock[s] -= used[s]


@_compiled
def _index(i):
    """An index as unsigned: numba then skips the wrap-around test of negative indices, a
    fifth of a link pass's instructions (indices here are never negative)."""
    return np.uint64(i)


@_compiled
def _fill_share(available, wanted):
    """min(1, available / wanted), and 0 where nothing is wanted."""
    if wanted > 0:
        return min(available / wanted, 1.0)
    return 0.0


@_compiled
def rationing_shipping(
    week_row, horizon, supplier, slot, lead, weight, order, backlog, link_open, closed,
    priority, baseline_flow, output, firm_demand, first_total, extra_total, fill, fill_extra,
    resourcing_weeks, failing_weeks, due_links, pipeline, in_transit, held, lost, border,
    lose, clear_lost, shipped, arrived, received, adjustment_time, due_by_firm, supply_line,
    product_starts, product_of_segment, by_product,
):  # fmt: skip
    """One pass over the links for the per-link arithmetic of rationing, failure tracking and
    shipping, and the link sums that ordering and the record need (see the engine's
    ``_rationing``). Returns (links due for re-sourcing, whether goods wait at a border)."""
    for f in range(output.shape[0]):
        if priority:
            fill[f] = _fill_share(output[f], first_total[f])
            fill_extra[f] = _fill_share(max(output[f] - first_total[f], 0.0), extra_total[f])
        else:
            fill[f] = _fill_share(output[f], firm_demand[f])
    received[:] = 0.0
    due_by_firm[:] = 0.0
    supply_line[:] = 0.0
    by_product[:4] = 0.0  # shipped, in transit, backlog, lost (orders: in `ordering`)
    links = (
        supplier, slot, lead, weight, order, backlog, link_open, baseline_flow, failing_weeks,
        due_links, in_transit, held, lost, shipped, arrived,
    )  # fmt: skip
    sums = (received, due_by_firm, supply_line, by_product)
    if not (closed or priority or border or clear_lost):  # the usual week, compiled apart
        return _link_pass(
            links, sums, week_row, horizon, pipeline, fill, fill_extra, resourcing_weeks,
            adjustment_time, product_starts, product_of_segment, False, False, False, False,
            False,
        )  # fmt: skip
    return _link_pass(
        links, sums, week_row, horizon, pipeline, fill, fill_extra, resourcing_weeks,
        adjustment_time, product_starts, product_of_segment, closed, priority, border, lose,
        clear_lost,
    )  # fmt: skip


@njit(cache=True, error_model="numpy", inline="always")
def _link_pass(
    links, sums, week_row, horizon, pipeline, fill, fill_extra, resourcing_weeks,
    adjustment_time, product_starts, product_of_segment, closed, priority, border, lose,
    clear_lost,
):  # fmt: skip
    """The links' part of ``rationing_shipping`` (inlined into it twice, so that the usual
    week - no border shut, proportional rationing - runs a loop without those branches)."""
    (supplier, slot, lead, weight, order, backlog, link_open, baseline_flow, failing_weeks,
     due_links, in_transit, held, lost, shipped, arrived) = links  # fmt: skip
    received, due_by_firm, supply_line, by_product = sums
    n_due = 0
    any_held = False
    now = _index(week_row)
    rows = _index(horizon)
    n = order.shape[0]
    n_segments = product_starts.shape[0]
    segment = 0
    next_start = product_starts[1] if n_segments > 1 else n
    sum_shipped = sum_transit = sum_backlog = sum_lost = 0.0
    for k in range(n):
        if k == next_start:  # the next product's links: its sums start
            p = _index(product_of_segment[segment])
            by_product[0, p] += sum_shipped
            by_product[1, p] += sum_transit
            by_product[2, p] += sum_backlog
            by_product[3, p] += sum_lost
            sum_shipped = sum_transit = sum_backlog = sum_lost = 0.0
            segment += 1
            next_start = product_starts[segment + 1] if segment + 1 < n_segments else n
        # Rationing: the supplier's output shared over what each link may receive.
        s = _index(supplier[k])
        wanted = order[k] + backlog[k]
        deliverable = wanted * link_open[k] if closed else wanted
        if priority:
            first = min(deliverable, baseline_flow[k])
            ship = first * fill[s] + (deliverable - first) * fill_extra[s]
        else:
            ship = deliverable * fill[s]
        left = wanted - ship
        shipped[k] = ship
        backlog[k] = left
        # Failure tracking: weeks in a row under half of the order.
        if resourcing_weeks > 0:
            failing = ship < FAILING_SHARE * order[k] and weight[k] > 0
            weeks = failing_weeks[k] + 1 if failing else 0
            failing_weeks[k] = weeks
            if weeks == resourcing_weeks:
                due_links[n_due] = k
                n_due += 1
        # Shipping: into the pipeline row of its arrival week; this week's row out.
        row = now + _index(lead[k])
        if row >= rows:
            row -= rows
        pipeline[row, k] = ship
        came = pipeline[now, k]
        pipeline[now, k] = 0.0
        transit = in_transit[k]
        if border:  # at a closed border goods stop: they wait there or are lost
            at_border = came + held[k]
            passing = at_border * link_open[k]
            stopped = at_border - passing
            if lose:
                lost[k] = stopped
                transit -= stopped
                sum_lost += stopped
            else:
                held[k] = stopped
                any_held = any_held or stopped > 0
            came = passing
        elif clear_lost:
            lost[k] = 0.0
        transit += ship
        transit -= came
        in_transit[k] = transit
        arrived[k] = came
        # Ordering's sums: what suppliers are due, and each slot's supply line.
        buyer = _index(slot[k])
        received[buyer] += came
        due_by_firm[s] += order[k] + left / adjustment_time
        supply_line[buyer] += transit + left
        # The record's sums per product.
        sum_shipped += ship
        sum_transit += transit
        sum_backlog += left
    if n:
        p = _index(product_of_segment[segment])
        by_product[0, p] += sum_shipped
        by_product[1, p] += sum_transit
        by_product[2, p] += sum_backlog
        by_product[3, p] += sum_lost
    return n_due, any_held


@_compiled
def book_arrivals(stock, received):
    """This week's arrivals into the buyers' stock (received: per slot, firm slots first)."""
    for s in range(stock.shape[0]):
        stock[s] += received[s]


@_compiled
def ordering(
    due_by_firm, ceiling, slot_coef, slot_firm, stock, mean_lead, supply_line,
    target_cover_weeks, supply_line_weight, adjustment_time, no_destocking, slot_order,
    n_firm_links, weight, slot, order, product_starts, product_of_segment, by_product,
):  # fmt: skip
    """Stock-management rule per firm slot (expected use plus closing the stock and
    supply-line gaps over tau), shared over the slot's links by weight; sums the week's orders
    per product for the record."""
    for s in range(slot_coef.shape[0]):
        f = _index(slot_firm[s])
        need = slot_coef[s] * min(due_by_firm[f], ceiling[f])
        gap = target_cover_weeks * need - stock[s]
        gap += supply_line_weight * (mean_lead[s] * need - supply_line[s])
        if no_destocking:
            gap = max(gap, 0.0)
        slot_order[s] = max(0.0, need + gap / adjustment_time)
    for k in range(n_firm_links):
        order[k] = weight[k] * slot_order[_index(slot[k])]
    # The week's orders per product, in four partial sums (one running sum would wait on
    # each addition in turn).
    by_product[4] = 0.0
    n = order.shape[0]
    n_segments = product_starts.shape[0]
    for segment in range(n_segments):
        start = product_starts[segment]
        stop = product_starts[segment + 1] if segment + 1 < n_segments else n
        by_product[4, _index(product_of_segment[segment])] += _sum(order, start, stop)


@_compiled
def _sum(values, start, stop):
    """values[start:stop].sum(), in four interleaved partial sums."""
    a = b = c = d = 0.0
    k = start
    while k + 4 <= stop:
        a += values[_index(k)]
        b += values[_index(k + 1)]
        c += values[_index(k + 2)]
        d += values[_index(k + 3)]
        k += 4
    while k < stop:
        a += values[_index(k)]
        k += 1
    return (a + b) + (c + d)


@_compiled
def adaptation(
    demand, ceiling, availability, alpha, short_weeks, on_order, alpha_max, alpha_time,
    decision_weeks, share, base_capacity, amount,
):  # fmt: skip
    """Overproduction alpha rises under scarcity and relaxes otherwise (not while a firm is
    down); the weeks-short clock (held while a firm is partly down); the capacity each firm
    short long enough, with none on order, now orders (in ``amount``). Returns how many."""
    n_invest = 0
    for f in range(alpha.shape[0]):
        d, c = demand[f], ceiling[f]
        short = d > c * SHORT_MARGIN
        if short:
            step = (alpha_max - alpha[f]) * ((d - c) / d) / alpha_time
        else:
            step = (1.0 - alpha[f]) / alpha_time
        if not availability[f] <= 0.0:
            alpha[f] += step
        if not availability[f] < 1.0:
            short_weeks[f] = short_weeks[f] + 1 if short else 0
        amount[f] = 0.0
        if share > 0 and short_weeks[f] >= decision_weeks and on_order[f] == 0:
            amount[f] = share * base_capacity[f]
            n_invest += 1
    return n_invest


@_compiled
def forces_service(demanded, delivered, state_stock, unmet, served):
    """Arrivals into each state's stockpile; the forces draw their need (and what is still
    unmet) from it."""
    for t in range(demanded.shape[0]):
        available = state_stock[t] + delivered[t]
        served[t] = min(demanded[t] + unmet[t], available)
        state_stock[t] = available - served[t]
        unmet[t] = unmet[t] + demanded[t] - served[t]


@_compiled
def record(
    output, ceiling, capacity, alpha, baseline_output, unit_cost, firm_product, used, stock,
    firm_slot_product, backlog, slot, n_firm_links, n_firm_slots, by_product, final_backlog,
    scalars,
):  # fmt: skip
    """The firm- and slot-level aggregates of the week (the link sums come from the passes
    above): rows 5-7 of ``by_product`` are output, inputs used and stock per product;
    ``scalars`` is alpha mean, output loss, direct loss, output value, utilisation, capacity."""
    by_product[5:] = 0.0
    sum_alpha = output_loss = direct_loss = output_value = total_output = total_capacity = 0.0
    # Firms come by product: a product's output is carried in a register while they do.
    run_product, run_output = _index(firm_product[0]) if output.shape[0] else _index(0), 0.0
    for f in range(output.shape[0]):
        p = _index(firm_product[f])
        if p != run_product:
            by_product[5, run_product] += run_output
            run_product, run_output = p, 0.0
        run_output += output[f]
        sum_alpha += alpha[f]
        output_loss += unit_cost[f] * max(baseline_output[f] - output[f], 0.0)
        direct_loss += unit_cost[f] * max(baseline_output[f] - ceiling[f], 0.0)
        output_value += unit_cost[f] * output[f]
        total_output += output[f]
        total_capacity += capacity[f]
    by_product[5, run_product] += run_output
    for s in range(used.shape[0]):
        p = _index(firm_slot_product[s])
        by_product[6, p] += used[s]
        by_product[7, p] += stock[s]
    final_backlog[:] = 0.0
    for k in range(n_firm_links, backlog.shape[0]):
        final_backlog[_index(slot[k] - n_firm_slots)] += backlog[k]
    scalars[0] = sum_alpha / output.shape[0]
    scalars[1] = output_loss
    scalars[2] = direct_loss
    scalars[3] = output_value
    scalars[4] = total_output / total_capacity
    scalars[5] = total_capacity
