"""Every load of a panel is validated (issue 11, item 1), and a labelled build is found by its label (item 3).

The vectorised checks run on every load are compared with the pandera schema of the build (a second
implementation): both must find the same failures, column by column and row by row.
"""

from __future__ import annotations

import gzip
import time

import numpy as np
import pandas as pd
import pytest
from pandera.errors import SchemaErrors

from helpers.core import params as P
from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data import panel as pnl
from helpers.data import schemas


def project_panel() -> pd.DataFrame:
    """A small panel with the project's keys, two instruments' status columns and registered outcomes."""
    rows = []
    for iso in ("AAA", "BBB", "CCC"):
        for year in range(2000, 2004):
            ratified = int(iso != "CCC" and year >= 2001)
            rows.append(
                {
                    "iso3": iso,
                    "year": year,
                    "cedaw_ratified": ratified,
                    "cedaw_signed": ratified,
                    "cedaw_years_since": (year - 2001) if ratified else 0,
                    "cat_ratified": 0,
                    "cat_signed": 0,
                    "cat_years_since": 0,
                    "wecon": 1.0,
                    "v2x_gender": 0.5,
                    "wbl_index": 60.0,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def tmp_processed(tmp_path, monkeypatch):
    processed = tmp_path / "processed"
    processed.mkdir()
    monkeypatch.setattr(paths, "PROCESSED", processed)
    monkeypatch.setattr(paths, "PANEL", processed / "panel.parquet")
    monkeypatch.setattr(paths, "RATIFICATIONS", processed / "ratifications.parquet")
    return processed


# ---------------------------------------------------------------------------------------------------------------
# corrupted project panels are refused, naming column, check and rows
# ---------------------------------------------------------------------------------------------------------------
CORRUPTIONS = [
    ("wecon", 7, "in_range(0.0, 3.0)"),
    ("cedaw_ratified", 2, "in_range(0.0, 1.0)"),
    ("v2x_gender", 50, "in_range(0.0, 1.0)"),
    ("wbl_index", -1, "in_range(0.0, 100.0)"),
]


@pytest.mark.parametrize("column,value,check", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_a_corrupted_panel_file_is_refused_on_load(tmp_path, column, value, check):
    df = project_panel()
    df.loc[5, column] = value  # row 6 of the file: BBB 2001
    path = tmp_path / "panel.parquet"
    df.to_parquet(path, index=False)
    with pytest.raises(DataError) as e:
        pnl.load(path)
    msg = str(e.value)
    assert str(path) in msg and f"column {column!r} failed {check}" in msg
    assert "row 6 (BBB 2001)" in msg and str(value) in msg


def test_duplicate_keys_are_named(tmp_path):
    df = pd.concat([project_panel(), project_panel().iloc[[2]]], ignore_index=True)
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"keys \(iso3, year\) not unique: 2 rows share a key.*AAA 2002"):
        pnl.load(path)


def test_status_columns_must_be_whole_numbers_without_gaps_and_consistent(tmp_path):
    df = project_panel().astype({"cat_signed": float, "cedaw_years_since": float})
    df.loc[0, "cat_signed"] = np.nan
    df.loc[1, "cedaw_years_since"] = 0.5
    df.loc[8, "cedaw_years_since"] = 3  # CCC 2000: not ratified, yet 3 years since
    with pytest.raises(DataError) as e:
        schemas.check_panel(df, "p")
    msg = str(e.value)
    assert "'cat_signed' failed not_nullable" in msg and "row 1 (AAA 2000)" in msg
    assert "'cedaw_years_since' failed integer" in msg and "row 2 (AAA 2001)" in msg
    assert (
        "'cedaw_years_since' failed equals 0 where cedaw_ratified is 0" in msg and "row 9 (CCC 2000)" in msg
    )


def test_a_good_panel_loads_unchanged(tmp_path):
    df = project_panel()
    path = tmp_path / "panel.parquet"
    df.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(pnl.load(path), df)


def _pandera_failures(df: pd.DataFrame, treaties: list[str]) -> set[tuple[str, str, int]]:
    try:
        schemas.panel_schema(df.columns, treaties).validate(df, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases.dropna(subset=["index"])
        return {(c, k, int(i)) for c, k, i in zip(fc["column"], fc["check"], fc["index"], strict=True)}
    return set()


def _vectorised_failures(df: pd.DataFrame) -> set[tuple[str, str, int]]:
    return {(f.column, f.check, int(i)) for f in schemas.panel_failures(df) for i in f.rows}


def _corrupt(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Random out-of-range values in registered columns, bad codes, years, gaps and duplicated rows."""
    q = df.copy()
    n = len(q)
    ranged = [c for c in ("wecon", "v2x_gender", "wbl_index", "cedaw_ratified", "cat_signed") if c in q]
    for c in rng.choice(ranged, size=4):
        q.loc[int(rng.integers(n)), c] = rng.choice([-5, 7, 50, 250])
    q.loc[int(rng.integers(n)), "iso3"] = rng.choice(["pak", "PAKI", "P1K"])
    q.loc[int(rng.integers(n)), "year"] = int(rng.choice([1800, 2999]))
    q["cat_ratified"] = q["cat_ratified"].astype(float)
    q.loc[int(rng.integers(n)), "cat_ratified"] = np.nan
    return pd.concat([q, q.iloc[[int(rng.integers(n))]]], ignore_index=True)


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_checks_find_what_pandera_finds(seed):
    df = _corrupt(project_panel(), np.random.default_rng(seed))
    # pandera also reports the dtype of an int column holding NaN; the vectorised checks report the gap itself
    ignore = {"dtype('int64')", "coerce_dtype('int64')"}
    want = {f for f in _pandera_failures(df, ["cedaw", "cat"]) if f[1] not in ignore}
    assert want, "the corruption found nothing"
    assert _vectorised_failures(df) == want


@pytest.mark.realdata
@pytest.mark.parametrize("seed", range(3))
def test_vectorised_checks_equal_pandera_on_the_real_panel(panel, seed):
    from helpers.data.treaties import TREATIES

    treaties = [t for t in TREATIES if f"{t}_ratified" in panel]
    assert _vectorised_failures(panel) == set() == _pandera_failures(panel, treaties)
    df = _corrupt(panel, np.random.default_rng(seed))
    ignore = {"dtype('int64')", "coerce_dtype('int64')"}
    want = {f for f in _pandera_failures(df, treaties) if f[1] not in ignore}
    assert _vectorised_failures(df) == want


@pytest.mark.realdata
def test_the_real_panel_is_checked_fast(panel):
    schemas.check_panel(panel)  # warm the variable registry
    best = min(_timed(lambda: schemas.check_panel(panel)) for _ in range(3))
    assert best < 0.5, f"checking the panel took {best:.2f} s"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------------------------
# a user's own panel gets the checks that apply to it
# ---------------------------------------------------------------------------------------------------------------
def own_panel() -> pd.DataFrame:
    return pd.DataFrame(
        {"county": [1, 1, 2, 2], "period": [2003, 2004, 2003, 2004], "lemp": [5.0, 5.1, 4.2, 4.4], "wecon": 9}
    )


def test_own_panel_passes_and_registry_ranges_do_not_apply_to_it(tmp_path):
    path = tmp_path / "own.csv"
    own_panel().to_csv(path, index=False)
    df = pnl.load(path, unit_col="county", time_col="period", outcome="lemp")
    assert len(df) == 4  # wecon = 9 is a user's column here, not the CIRI scale


@pytest.mark.parametrize(
    "change,expected",
    [
        (lambda d: d.assign(period=[2003, 2003, 2003, 2004]), r"keys \(county, period\) not unique.*1 2003"),
        (lambda d: d.assign(period=[2003.0, 2003.5, 2003.0, 2004.0]), r"'period' failed integer.*2003.5"),
        (lambda d: d.assign(lemp=["a", "b", "c", "d"]), r"'lemp' failed numeric"),
        (lambda d: d.assign(county=[1, None, 2, 2]), r"'county' failed not_nullable.*row 2"),
    ],
    ids=["duplicate-keys", "fractional-period", "text-outcome", "missing-unit"],
)
def test_own_panel_checks(tmp_path, change, expected):
    path = tmp_path / "own.csv"
    change(own_panel()).to_csv(path, index=False)
    with pytest.raises(DataError, match=expected):
        pnl.load(path, unit_col="county", time_col="period", outcome="lemp")


def test_own_panel_without_the_named_unit_column(tmp_path):
    path = tmp_path / "own.csv"
    own_panel().to_csv(path, index=False)
    with pytest.raises(ParameterError, match=r"'unit_col'.*'countyy'.*county, period, lemp, wecon"):
        pnl.load(path, unit_col="countyy", time_col="period")


# ---------------------------------------------------------------------------------------------------------------
# files that are not tables: one line naming the file and what is valid
# ---------------------------------------------------------------------------------------------------------------
NOT_TABLES = {
    "garbage.parquet": b"this is not parquet at all",
    "rdata.csv": gzip.compress(b"RDX3\nX\n" + bytes(range(256)) * 4),  # an R .rda (gzip) renamed to .csv
    "ragged.csv": b'a,b\n1,2\n3,4,5\n6,"7\n',
    "empty.csv": b"",
}


@pytest.mark.parametrize("name", NOT_TABLES)
def test_a_file_that_is_not_a_table_is_one_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(NOT_TABLES[name])
    with pytest.raises(DataError) as e:
        pnl.load(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "cannot be read as a" in msg
    assert "panel_path takes" in msg


def test_missing_panel_lists_the_labelled_panels(tmp_processed):
    (tmp_processed / "cedaw2000").mkdir()
    project_panel().to_parquet(tmp_processed / "cedaw2000" / "panel.parquet", index=False)
    with pytest.raises(DataError, match=r"labelled panels built so far: cedaw2000"):
        pnl.load("nosuchlabel")


# ---------------------------------------------------------------------------------------------------------------
# labelled panels (item 3): built to data/processed/<label>/, read by label
# ---------------------------------------------------------------------------------------------------------------
def test_a_labelled_panel_is_read_by_its_label_with_its_ratifications(tmp_processed):
    sub = tmp_processed / "cedaw2000"
    sub.mkdir()
    project_panel().to_parquet(sub / "panel.parquet", index=False)
    (sub / "ratifications.parquet").write_bytes(b"x")
    assert pnl.resolve_panel("cedaw2000") == sub / "panel.parquet"
    assert pnl.resolve_panel("") == pnl.resolve_panel("default") == tmp_processed / "panel.parquet"
    assert len(pnl.load("cedaw2000")) == 12
    assert pnl.ratifications_path("cedaw2000") == sub / "ratifications.parquet"
    assert pnl.built_panels() == ["cedaw2000"]
    rule = P.RULES["panel_path"]
    assert rule("panel_path", "cedaw2000") == "cedaw2000"
    with pytest.raises(ParameterError, match=r'valid values: "", cedaw2000 \(no panel built with this label'):
        rule("panel_path", "cedaw1990")
    with pytest.raises(ParameterError, match="no such file"):
        rule("panel_path", str(tmp_processed / "absent.csv"))


def test_non_default_builds_never_replace_the_project_panel(tmp_processed):
    assert pnl.build_dir() == tmp_processed
    assert pnl.build_dir("cedaw2000", first_year=2000, treaties=["cedaw"]) == tmp_processed / "cedaw2000"
    with pytest.raises(ParameterError) as e:
        pnl.build_dir("default", first_year=2000, treaties=["cedaw"])
    msg = str(e.value)
    assert "first_year=2000" in msg and "treaties=['cedaw']" in msg and "data/processed/<run_label>/" in msg
    with pytest.raises(ParameterError, match="run_label"):
        pnl.build_dir("../escape")


# ---------------------------------------------------------------------------------------------------------------
# through the runner: a corrupted panel stops the notebook at its start cell, naming column, check and rows
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def tmp_reports(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path / "reports")
    return tmp_path / "reports"


@pytest.mark.slow
@pytest.mark.realdata
def test_a_notebook_on_a_corrupted_panel_stops_at_its_start(panel, tmp_path, tmp_reports):
    from helpers.pipeline import runner

    bad = panel.copy()
    row = int(bad.index[(bad["iso3"] == "PAK") & (bad["year"] == 1995)][0])
    bad.loc[row, "wecon"] = 7
    path = tmp_path / "panel.parquet"
    bad.to_parquet(path, index=False)
    res = runner.run_notebook("03_treaty_effects", {"panel_path": str(path)}, "corrupted")
    assert not res.ok
    assert "'wecon' failed in_range(0.0, 3.0)" in res.error and "PAK 1995" in res.error
    assert not (tmp_reports / "03_treaty_effects" / "corrupted").exists()


@pytest.mark.slow
@pytest.mark.realdata
def test_a_text_column_as_outcome_is_one_line(panel, tmp_reports):
    from helpers.pipeline import runner

    res = runner.run_notebook("05_country_case", {"outcome": "iso3"}, "text_outcome")
    assert not res.ok and "parameter 'outcome': invalid value 'iso3'" in res.error
