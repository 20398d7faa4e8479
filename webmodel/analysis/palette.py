"""One visual language for every figure: a colour per wiring, per end item and per state, and
one colour for "down / closed" that no wiring uses.

Colours come from Paul Tol's colour-blind-safe schemes ("vibrant" for the wirings and for
"down", "muted" for end items and states). Wherever a colour marks something down it is also
drawn with its own marker or dash, so the meaning never rests on hue alone.

The app uses these constants; reports and findings should import them too, so hub-and-spokes is
the same orange and the production web the same blue in every picture.
"""

from __future__ import annotations

from collections.abc import Sequence

HUB = "#EE7733"  # hub-and-spokes (web_ness 0): vibrant orange
WEB = "#0077BB"  # production web (web_ness 1): vibrant blue
BETWEEN = "#009988"  # any web_ness strictly between 0 and 1: vibrant teal
DOWN = "#EE3377"  # a firm down, a trade closed, a disrupted week: vibrant magenta
DOWN_SHADE = "#EE3377"  # the weeks a disruption lasts (drawn with low opacity)
DEMAND = "#262626"  # what was demanded (a dashed line)
SURGE_MARK = "#666666"  # the week the surge starts (a dotted line)

# End items (deliveries, backlog) and states (the network's firms), in the order they appear.
END_ITEM_COLOURS = ("#332288", "#117733", "#AA4499", "#999933", "#88CCEE", "#882255")
STATE_COLOURS = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#AA4499",
    "#882255",
    "#BBBBBB",
    "#555555",
)


def wiring_colour(web_ness: float) -> str:
    """The colour of a wiring: hub-and-spokes, production web, or one in between."""
    if web_ness <= 0.0:
        return HUB
    if web_ness >= 1.0:
        return WEB
    return BETWEEN


def wiring_colours(web_ness: Sequence[float]) -> list[str]:
    """Colours for the wirings compared; two different in-between values get hub/web colours
    by order, so two sides of a comparison never share a colour."""
    colours = [wiring_colour(w) for w in web_ness]
    if len(set(colours)) < len(colours):
        order = sorted(range(len(web_ness)), key=lambda k: web_ness[k])
        fallback = (HUB, WEB, BETWEEN)
        colours = [fallback[order.index(k) % len(fallback)] for k in range(len(web_ness))]
    return colours


def state_colour(index: int) -> str:
    return STATE_COLOURS[index % len(STATE_COLOURS)]
