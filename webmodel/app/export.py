"""What an analyst takes away from the app: the series, the figures and a file that
reproduces the view.

Everything here is built only when a download button is pressed (Solara's ``FileDownload``
takes a function), so a frame of the app never pays for it.
"""

from __future__ import annotations

import io
import json
import tomllib
from importlib import resources
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from webmodel.io.output import provenance, run_params, series_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from webmodel.app.pair import ModelPair


def pair_series(pair: ModelPair) -> pa.Table:
    """Both models' weekly series in one table, one row per model and week (``wiring`` and
    ``web_ness`` say which model), with the run parameters of both in its metadata."""
    with pair.lock:
        tables = []
        for label, model in zip(pair.labels, pair.models, strict=True):
            table = series_table(model)
            n = table.num_rows
            table = table.add_column(0, "web_ness", pa.array([model.web_ness] * n, pa.float64()))
            table = table.add_column(0, "wiring", pa.array([label] * n, pa.string()))
            tables.append(table.replace_schema_metadata(None))
        meta = provenance(
            None,
            source="webmodel app",
            params=[run_params(m) for m in pair.models],
            labels=pair.labels,
        )
    return pa.concat_tables(tables).replace_schema_metadata(meta)


def series_parquet(pair: ModelPair) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pair_series(pair), buffer, write_page_checksum=True)
    return buffer.getvalue()


def series_csv(pair: ModelPair) -> bytes:
    """The series as CSV; provenance (version, commit, parameters) in ``#`` lines at the top."""
    table = pair_series(pair)
    buffer = io.BytesIO()
    for key, value in (table.schema.metadata or {}).items():
        buffer.write(b"# " + key + b": " + value.replace(b"\n", b" ") + b"\n")
    pa_csv.write_csv(table.replace_schema_metadata(None), buffer)
    return buffer.getvalue()


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """A chart as SVG (vector) or PNG (200 dpi, for slides)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else None
    canvas = canvas or FigureCanvasAgg(figure)
    canvas.print_figure(buffer, format=fmt, dpi=200 if fmt == "png" else 100)
    return buffer.getvalue()


# --- a scenario file that reproduces the view ----------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"cannot write {type(value).__name__} to TOML")


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def to_toml(data: dict[str, Any]) -> str:
    """TOML for a scenario's shape: top-level values, tables, arrays of tables."""
    lines: list[str] = []
    tables, arrays = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, table in tables:
        lines += ["", f"[{_key(key)}]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
    for key, entries in arrays:
        for entry in entries:
            lines += ["", f"[[{_key(key)}]]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def scenario_source(pair: ModelPair) -> dict[str, Any]:
    """The scenario file the pair was built from, as TOML data."""
    settings = pair.settings
    from webmodel.app.pair import UPLOADED_SCENARIO

    if settings.scenario == UPLOADED_SCENARIO:
        return tomllib.loads(settings.uploaded)
    text = (
        resources.files("webmodel.coalition.scenarios")
        .joinpath(f"{settings.scenario}.toml")
        .read_text("utf-8")
    )
    return tomllib.loads(text)


def command_lines(pair: ModelPair, file_name: str = "view.toml") -> list[str]:
    """``webmodel run`` commands that rebuild each side of the view from the file."""
    s = pair.settings
    commands = []
    for w in s.web_ness:
        parts = [f"webmodel run --scenario {file_name} --web-ness {w:g} --seed {s.seed}"]
        parts.append(f"--surge {s.surge:g} --surge-start {s.surge_start} --steps {s.steps}")
        if s.firms is not None:
            parts.append(f"--firms {s.firms}")
        commands.append(" ".join(parts))
    return commands


def view_toml(pair: ModelPair, file_name: str = "view.toml") -> str:
    """A scenario file that reproduces the view: the scenario, the lever settings in
    ``[parameters]`` and every disruption both models got (injected ones included), with the
    commands that run it at the top."""
    data = scenario_source(pair)
    params = dict(data.get("parameters", {}))
    for name, value in pair.settings.levers.items():
        params[name] = value
    if params:
        data["parameters"] = params
    with pair.lock:
        data["disruptions"] = [s.disruption.spec for s in pair.models[0].disruptions]
    header = [
        "# Written by the webmodel app: the scenario, its lever settings and disruptions.",
        f"# The two sides of the view ({' | '.join(pair.labels)}, week {pair.week}):",
        *(f"#   {line}" for line in command_lines(pair, file_name)),
    ]
    return "\n".join(header) + "\n" + to_toml(data)
