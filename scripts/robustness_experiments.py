"""Write experiments/robustness/*.toml: the headline claims re-tested under alternative settings.

One pair of files per setting (the setting in `[base]`, every other parameter at its default):

- SETTING.toml: both wirings, levers off, under a doubling of demand and six peacetime shocks
  (and each shock under the surge); the disruption, surge and Korea claims are read from it;
- SETTING_levers.toml: hub-and-spokes with all six NDIS levers on, the same conditions and the
  same seeds; "NDIS levers beat topology" is hub-and-spokes with the levers against the web
  without them (SETTING.toml), paired by seed;
- SETTING_levers_nostock.toml: the same with every lever but stockpiles, to see whether the
  claim is carried by the stockpile alone.

Run `uv run python scripts/robustness_experiments.py` after changing SETTINGS; the files are
committed so that `scripts/run-study.sh` runs them. The robustness section of results/FINDINGS.md
reads their results (results/robustness/SETTING).
"""

from __future__ import annotations

from pathlib import Path

ROOT_SEED = 20261201
REPLICATES = 10
# Fewer where a setting says so (five new seeds) or a run costs five times as much (1,000 firms).
REPLICATES_OF = {"seeds": 5, "firms_1000": 5}
# name -> ([base] entries, comment). "default" is the reference every other setting is read against.
SETTINGS: dict[str, tuple[dict[str, object], str]] = {
    "default": ({}, "every parameter at its default (the reference)"),
    "seeds": ({}, "five new seeds (another root seed, 5 replicates)"),
    "cover_2": ({"target_cover_weeks": 2.0}, "firms keep 2 weeks of inputs (default 4)"),
    "cover_8": ({"target_cover_weeks": 8.0}, "firms keep 8 weeks of inputs (default 4)"),
    "qualification_8": ({"qualification_weeks": 8}, "a substitute qualifies in 8 weeks (26)"),
    "border_0": ({"border_delay": 0}, "no cross-border delay (default: the scenario's 4)"),
    "border_1": ({"border_delay": 1}, "1 week of cross-border delay (4)"),
    "border_8": ({"border_delay": 8}, "8 weeks of cross-border delay (4)"),
    "firms_1000": ({"firms": 1000}, "the scenario scaled to about 1,000 firms (197)"),
    "utilisation_1": ({"contract_utilisation": 1.0}, "single sourcing loads the cheapest fully"),
    "no_resourcing": ({"resourcing_weeks": 0}, "re-sourcing off (default: after 4 weeks)"),
    "beta_0.5": ({"supply_line_weight": 0.5}, "supply line half-weighted (default 1)"),
    "beta_0.25": ({"supply_line_weight": 0.25}, "supply line weighted 0.25, near Sterman's fits"),
    "home_bias_0": ({"web_home_bias": 0.0}, "a geography-blind web (default 0.7)"),
    "home_bias_0.9": ({"web_home_bias": 0.9}, "a web that sources 90% at home first (0.7)"),
}
# The NDIS levers' "on" levels, as in experiments/ndis_levers.toml; FMS reform sets the
# cross-border delay to 1 week, or keeps 0 where the setting has none.
LEVERS = {
    "capacity_headroom": 0.2,
    "stockpile_weeks": 8.0,
    "contracting": "best-value",
    "subtier_visibility": True,
    "border_delay": 1,
    "cyber_hardening": 0.8,
}
DISRUPTIONS = [
    [],
    ["random:0.1@20+12"],
    ["assembly:USA@20+8"],
    ["assembly:USA@20+26"],
    ["state:KOR@20+4"],
    ["state:KOR@20+12"],
    ["cyber:0.3@20+12"],
]
METRICS = [
    "loss_area",
    "min_performance",
    "time_to_recover",
    "time_to_surge_target",
    "fill_rate",
    "backlog_end",
    "delivered.shell_155mm",
    "delivered.interceptor",
    "demanded.shell_155mm",
    "demanded.interceptor",
]


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return repr(v)


VARIANTS = {
    "": "both wirings, no levers",
    "_levers": "hub-and-spokes with all six NDIS levers on",
    "_levers_nostock": "hub-and-spokes with every NDIS lever on but stockpiles",
}


def experiment(name: str, base: dict[str, object], comment: str, variant: str) -> str:
    seeds = name == "seeds"
    base = dict(base)
    levers = variant != ""
    if levers:
        base.update({k: v for k, v in LEVERS.items() if k != "border_delay"})
        base["border_delay"] = min(int(base.get("border_delay", 4)), LEVERS["border_delay"])
        if variant == "_levers_nostock":
            base["stockpile_weeks"] = 0.0
    topology = ["hub-and-spokes"] if levers else ["hub-and-spokes", "production-web"]
    what = VARIANTS[variant]
    lines = [
        f"# Robustness of the headline claims, setting {name!r}: {comment}.",
        f"# {what}.",
        "# A doubling of demand from week 10 and six peacetime shocks from week 20, each with",
        "# and without the surge. Written by scripts/robustness_experiments.py (edit there);",
        "# read by the robustness section of results/FINDINGS.md (results/robustness/).",
        f'name = "robustness_{name}{variant}"',
        f'description = "Robustness: {comment}; {what}"',
        f"root_seed = {ROOT_SEED + 98 if seeds else ROOT_SEED}",
        f"replicates = {REPLICATES_OF.get(name, REPLICATES)}",
        'seeds = "common"',
        "",
        "[base]",
        "steps = 104",
        "surge_start = 10",
        *(f"{k} = {_value(v)}" for k, v in base.items()),
        "",
        "[design]",
        'kind = "full-factorial"',
        "",
        "[factors]",
        f"topology = {_value(topology)}",
        "surge = [1.0, 2.0]",
        "disruptions = [" + ", ".join(_value(d) for d in DISRUPTIONS) + "]",
        "",
        "[output]",
        f"metrics = {_value(METRICS)}",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    folder = Path(__file__).resolve().parent.parent / "experiments" / "robustness"
    folder.mkdir(exist_ok=True)
    for name, (base, comment) in SETTINGS.items():
        for variant in VARIANTS:
            path = folder / f"{name}{variant}.toml"
            path.write_text(experiment(name, base, comment, variant))
            print(path.relative_to(folder.parent.parent))


if __name__ == "__main__":
    main()
