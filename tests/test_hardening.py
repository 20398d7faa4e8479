"""Hostile inputs: each is refused with a message naming the field (exit 2, no traceback, nothing
written), or, for an output that cannot be written, with its own status (3) before the work.

Every case here was a traceback, a hang, a silent NaN or a lost result before the hardening
(issue 12); the fuzz tests at the end look for the ones nobody thought of.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sweep_support import SMALL, write_experiment

from webmodel.cli import main
from webmodel.coalition.scenario import ScenarioError, parse_scenario

DEFAULT = (Path(__file__).parents[1] / "webmodel/coalition/scenarios/default.toml").read_text()


def _sub(pattern: str, replacement: str, count: int = 1) -> str:
    text, n = re.subn(pattern, replacement, DEFAULT, count=count, flags=re.M)
    assert n, pattern
    return text


def _refused(capsys, argv: list[str], fragment: str, code: int = 2) -> str:
    got = main(argv)
    captured = capsys.readouterr()
    assert got == code, captured.err
    assert fragment in captured.err, captured.err
    assert "Traceback" not in captured.err
    return captured.err


# --- scenario files ---------------------------------------------------------------------------

DISRUPTION = '\n[[disruptions]]\nkind = "random"\ntarget = {target}\nstart = {start}\n'
SCENARIOS = {
    "cross_border pairs as a list": (
        _sub(r"^pairs = \{.*\}", 'pairs = ["USA-KOR"]'),
        "cross_border.pairs: must be a table",
    ),
    "a float disruption target": (
        DEFAULT + DISRUPTION.format(target="0.2", start=10),
        "disruptions[0].target: must be a string",
    ),
    "a string disruption start": (
        DEFAULT + DISRUPTION.format(target='"0.2"', start='"10"'),
        "disruptions[0].start: must be an integer in [0, 1040]",
    ),
    "a non-ASCII state code": (
        DEFAULT.replace('code = "KOR"', 'code = "KÖR"'),
        "states[1].code: must be an ISO 3166 alpha-3 code",
    ),
    "capacity 1e308": (
        _sub(r"^capacity = [0-9.]+", "capacity = 1e308"),
        "firms[0].capacity: required, units per week in (0, 1e12]",
    ),
    "a firm group of 10**7 firms": (
        _sub(r"^count = \d+", "count = 10_000_000"),
        "firms[0].count: required, an integer in [1, 1,000,000]",
    ),
    "a lead time of 10**9 weeks": (
        _sub(r"^lead_time_weeks = \d+", "lead_time_weeks = 1_000_000_000"),
        "lead_time_weeks: required, an integer in [1, 1040]",
    ),
    "a border delay of 10**9 weeks": (
        _sub(r"^default_delay_weeks = \d+", "default_delay_weeks = 1_000_000_000"),
        "cross_border.default_delay_weeks: must be an integer in [0, 1040]",
    ),
    "demand of 1e308": (
        _sub(r"^demand = \{ shell_155mm = [0-9.]+", "demand = { shell_155mm = 1e308"),
        "states[0].demand.shell_155mm: must be a number in [0, 1e12]",
    ),
    "100k-deep nesting": ("a = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
}


@pytest.mark.parametrize("case", SCENARIOS, ids=list(SCENARIOS))
def test_a_bad_scenario_file_is_refused_naming_the_field(capsys, tmp_path, case):
    text, fragment = SCENARIOS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "net.json"
    argv = ["network", "--scenario", str(path), "--out", str(out)]
    _refused(capsys, argv, fragment)
    assert not out.exists()


def test_a_latin1_scenario_file_is_named_as_not_utf8(capsys, tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(DEFAULT.replace('description = "', 'description = "é', 1).encode("latin-1"))
    _refused(capsys, ["run", "--scenario", str(path), "--steps", "2"], "not UTF-8 text (byte 0xe9")


def test_a_50mb_scenario_file_is_refused_before_it_is_read(capsys, tmp_path):
    path = tmp_path / "huge.toml"
    with open(path, "wb") as handle:  # sparse: 50 MB on paper, nothing on disk
        handle.truncate(50 * 2**20)
    _refused(capsys, ["run", "--scenario", str(path)], "over the limit of 1,000,000")


# --- network files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def network_json(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("network") / "web.json"
    assert main(["network", "--out", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("weight", 1e308, ".weight: must be a number > 0 and <= 1e12"),
        ("lead_time", 10**9, ".lead_time: must be an integer in [1, 2080]"),
    ],
)
def test_a_bad_network_edge_is_refused_naming_it(
    capsys, tmp_path, network_json, field, value, fragment
):
    data = json.loads(json.dumps(network_json))
    for edge in data["edges"]:
        edge[field] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    _refused(capsys, ["run", "--network", str(path), "--steps", "2", "--json"], fragment)


def test_a_network_node_capacity_of_1e308_is_refused(capsys, tmp_path, network_json):
    data = json.loads(json.dumps(network_json))
    firm = next(n for n in data["nodes"] if n["kind"] == "firm")
    firm["capacity"] = 1e308
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    _refused(capsys, ["run", "--network", str(path)], f'node "{firm["id"]}".capacity')


# --- experiment files -------------------------------------------------------------------------

SMALL_TEXT = textwrap.dedent(SMALL).format(name="small", replicates=2, steps=30)
SOBOL = SMALL_TEXT.replace('kind = "full-factorial"', 'kind = "sobol"\nsamples = 1_073_741_824')
SOBOL = SOBOL.replace('topology = ["hub-and-spokes", "production-web"]\n', "")
SOBOL = SOBOL.replace("surge = [1.0, 2.0]", "surge = { min = 1.0, max = 3.0 }")

EXPERIMENTS = {
    "Sobol' samples 2**30": (SOBOL, "design.samples: must be an integer in [1, 16,777,216]"),
    "replicates 10**8": (
        SMALL_TEXT.replace("replicates = 2", "replicates = 100_000_000"),
        "replicates: must be an integer in [1, 1,000,000]",
    ),
    "a range of 10**9 levels": (
        SMALL_TEXT.replace(
            "surge = [1.0, 2.0]", "surge = { min = 1.0, max = 2.0, n = 1_000_000_000 }"
        ),
        "factors.surge.n: must be an integer in [2, 10,000]",
    ),
    "a 4 x 10**8-point factorial": (
        SMALL_TEXT.replace(
            "surge = [1.0, 2.0]",
            "surge = { min = 1.0, max = 2.0, n = 10_000 }\n"
            "alpha_max = { min = 1.0, max = 2.0, n = 10_000 }\n"
            "alpha_time = [4.0, 8.0]",
        ),
        "design: 400,000,000 design points",
    ),
    "steps 10**9": (
        SMALL_TEXT.replace("steps = 30", "steps = 1_000_000_000"),
        "base.steps: must be an integer in [1, 1,040]",
    ),
    "a million firms for 1040 weeks": (
        SMALL_TEXT.replace("steps = 30", "steps = 1040\nfirms = 1_000_000"),
        "links x steps",
    ),
    "100k-deep nesting": ("x = " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("case", EXPERIMENTS, ids=list(EXPERIMENTS))
def test_a_bad_experiment_is_refused_under_dry_run_at_once(capsys, tmp_path, case):
    text, fragment = EXPERIMENTS[case]
    path = tmp_path / "small.toml"
    path.write_text(text)
    out = tmp_path / "out"
    _refused(capsys, ["sweep", str(path), "--dry-run", "--out", str(out)], fragment)
    assert not out.exists()


def test_the_budget_is_lifted_by_an_explicit_flag_only(capsys, tmp_path, monkeypatch):
    """Over the budget (made small here, so the test stays quick) a design is refused;
    --allow-large lifts the budget, but never a declared bound."""
    from webmodel.coalition import budget

    monkeypatch.setattr(budget, "RUNS_BUDGET", 4)
    path = tmp_path / "small.toml"
    path.write_text(SMALL_TEXT)
    out = tmp_path / "out"
    argv = ["sweep", str(path), "--dry-run", "--out", str(out)]
    _refused(capsys, argv, "replicates: 4 points x 2 replicates = 8 runs, over the budget of 4")
    assert main([*argv, "--allow-large"]) == 0
    path.write_text(SMALL_TEXT.replace("replicates = 2", "replicates = 2_000_000"))
    _refused(capsys, [*argv, "--allow-large"], "replicates: must be an integer in [1, 1,000,000]")
    assert not out.exists()


# --- outputs ----------------------------------------------------------------------------------


def test_an_unwritable_series_path_is_found_before_the_run(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    series = blocker / "x.parquet"
    err = _refused(capsys, ["run", "--series", str(series)], "--series: cannot create", code=3)
    assert "a_file is a file" in err


def test_a_full_disk_is_its_own_exit_status(capsys, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    series = tmp_path / "x.parquet"
    argv = ["run", "--steps", "3", "--series", str(series)]
    _refused(capsys, argv, "no space left on the device", code=3)
    assert not series.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_full_disk_during_a_sweep_is_its_own_exit_status(capsys, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    real = pq.write_table

    def full(table, where, **kwargs):
        if "part-" in str(where):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", full)
    path = write_experiment(tmp_path, replicates=1, steps=5)
    argv = ["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "0", "--quiet"]
    _refused(capsys, argv, "no space left on the device", code=3)


def test_sweep_out_naming_an_existing_file_is_refused(capsys, tmp_path):
    path = write_experiment(tmp_path, replicates=1, steps=5)
    out = tmp_path / "results.txt"
    out.write_text("keep me")
    _refused(capsys, ["sweep", str(path), "--out", str(out), "--workers", "0"], "is a file")
    assert out.read_text() == "keep me"


# --- fuzz -------------------------------------------------------------------------------------

NASTY = [
    "inf", "-inf", "nan", "1e308", "-1", "0", "10_000_000_000", "1.5", "true", '"10"', '"KÖR"',
    '""', "[]", "{}", "[[1]]", '["USA-KOR"]', '{ a = 1 }', "2026-01-01", '"x"',
]  # fmt: skip
VALUE_LINE = re.compile(r"^(\s*[A-Za-z_\"][\w\"-]*\s*=\s*)(.+)$")


def _mutated(text: str, data: st.DataObject) -> str:
    """``text`` with a few `key = value` lines given a hostile value (or deleted)."""
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines) if VALUE_LINE.match(line)]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.sampled_from(candidates))
        match = VALUE_LINE.match(lines[i])
        if match is None:
            continue
        if data.draw(st.booleans()):
            lines[i] = match[1] + data.draw(st.sampled_from(NASTY))
        else:
            lines[i] = match[1] + repr(data.draw(st.integers(-(2**70), 2**70)))
    return "\n".join(lines) + "\n"


FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_fuzzed_scenario_files_are_accepted_or_named_never_a_traceback(tmp_path, data):
    text = _mutated(DEFAULT, data)
    path = tmp_path / "fuzz.toml"
    path.write_text(text)
    out = tmp_path / "fuzz.json"
    out.unlink(missing_ok=True)
    code = main(["network", "--scenario", str(path), "--out", str(out)])
    assert code in (0, 2)
    if code == 2:
        assert not out.exists(), "a rejected scenario wrote a file"


@FUZZ
@given(data=st.data())
def test_fuzzed_scenario_tables_raise_scenario_errors_only(data):
    import tomllib

    try:
        parsed = tomllib.loads(_mutated(DEFAULT, data))
    except tomllib.TOMLDecodeError:
        return
    with contextlib.suppress(ScenarioError):
        parse_scenario(parsed, "fuzz.toml")


EXPERIMENT = textwrap.dedent(SMALL).format(name="small", replicates=2, steps=8)


@settings(FUZZ, max_examples=15)
@given(data=st.data())
def test_fuzzed_experiment_files_are_accepted_or_named_never_a_traceback(tmp_path, data):
    path = tmp_path / "small.toml"
    path.write_text(_mutated(EXPERIMENT, data))
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--dry-run", "--quiet", "--out", str(out)])
    assert code in (0, 2)
    assert not out.exists(), "a dry run (accepted or rejected) wrote the results folder"
