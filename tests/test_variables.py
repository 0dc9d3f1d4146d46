"""The variable registry (data/reference/variables.csv): it validates, covers every panel column, drives the role
lists, ranges, labels and the data dictionary, rejects bad tables with errors naming file, row and column, and a new
variable added through the documented path (one loader function + one row) reaches the panel, the schema, the data
dictionary and the figure labels."""

from __future__ import annotations

import csv
import hashlib
import re
import textwrap

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.data import panel as pnl
from helpers.data import variables as V
from helpers.data.schemas import validate_panel
from helpers.data.treaties import TREATIES
from helpers.estimate import models as M
from helpers.estimate import timing  # noqa: F401  (registers the hazard-model term labels)
from helpers.report import figures


def _rows() -> list[dict[str, str]]:
    with open(paths.VARIABLES, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path, rows, fieldnames=V.TABLE_COLUMNS):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fieldnames, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def _line(rows, column: str) -> int:
    """Line number of a column's row in the file (header = line 1)."""
    return next(i for i, r in enumerate(rows) if r["column"] == column) + 2


# --------------------------------------------------------------------------------------------------------------
# the tracked table
# --------------------------------------------------------------------------------------------------------------
def test_tracked_table_validates_and_expands_templates():
    reg = V.registry()
    assert list(reg.columns) == V.REGISTRY_COLUMNS
    assert not reg["column"].duplicated().any() and not reg["label"].duplicated().any()
    assert set(reg["role"]) == set(V.ROLES)
    # five per-treaty templates, one column per instrument each
    tmpl = reg[reg["template"] != ""]
    assert len(tmpl) == 5 * len(TREATIES)
    assert set(tmpl.loc[tmpl["treaty"] == "ced", "column"]) == {
        f"ced_{s}" for s in ("ratified", "year", "years_since", "signed", "region_density")
    }
    assert (
        V.label("ced_ratified") == "CPED ratified"
        and V.label("crc_op_ac_region_density") == "Regional OPAC density"
    )
    # explicit treaty rows belong to the longest matching key
    assert reg.set_index("column").loc["cedaw_res_art2", "treaty"] == "cedaw"
    assert reg.set_index("column").loc["cedaw_op_signed", "treaty"] == "cedaw_op"


def test_every_row_is_labelled_without_raw_codes():
    reg = V.registry()
    raw = reg["label"].str.fullmatch(r"[a-z0-9_]+") | (reg["label"] == reg["column"])
    assert not raw.any(), reg.loc[raw, "column"].tolist()
    assert (reg["meaning"].str.len() > 3).all() and (reg["unit"].str.len() > 0).all()
    for c in reg["column"]:  # plain=True labels are pure ASCII (tables written without a LaTeX symbol map)
        assert V.term_label(c, plain=True).isascii(), c


@pytest.mark.realdata
def test_registry_covers_every_panel_column(panel):
    assert len(panel.columns) == len(V.registry()) == 211
    assert list(panel.columns) == [c for c in panel.columns if c in set(V.registered_columns())]
    assert set(panel.columns) == set(V.registered_columns())


@pytest.mark.realdata
def test_documented_coverage_contains_the_panel_coverage(panel):
    """first_year/last_year (the source's coverage) bracket the years the panel actually has data for."""
    d = pnl.data_dictionary(panel).set_index("column")
    reg = V.registry().set_index("column")
    dated = reg[reg["first_year"].notna()]
    assert len(dated) > 100
    for c, r in dated.iterrows():
        assert d.loc[c, "first_year"] >= max(r["first_year"], pnl.FIRST_YEAR), c
        assert d.loc[c, "last_year"] <= r["last_year"], c


@pytest.mark.realdata
def test_ranges_hold_on_the_real_panel(panel):
    rng = V.ranges()
    assert rng["v2x_gender"] == (0.0, 1.0) and rng["polity2"] == (-10.0, 10.0)
    assert rng["cedaw_years_since"] == (0.0, None) and rng["ced_region_density"] == (0.0, 1.0)
    for c, (lo, hi) in rng.items():
        v = panel[c].dropna()
        assert lo is None or (v >= lo).all(), c
        assert hi is None or (v <= hi).all(), c


def test_role_lists_derive_from_the_table():
    reg = V.registry()
    assert reg.loc[reg["role"] == "outcome", "column"].tolist() == V.OUTCOMES
    assert reg.loc[reg["role"] == "control", "column"].tolist() == V.CONTROLS
    assert set(V.ORDINAL_OUTCOMES) == {
        "wecon",
        "wopol",
        "wosoc",
        "physint",
        "wecon_cirights",
        "wopol_cirights",
        "physint_cirights",
    }
    assert set(V.MODERATORS) == {
        "v2x_polyarchy",
        "v2xcs_ccsi",
        "ln_gdppc",
        "nhri_a_status",
        "v2x_jucon",
        "v2xlg_legcon",
    }
    # the public names other code and the notebooks use follow the registry
    assert pnl.OUTCOMES == M.OUTCOMES == V.OUTCOMES and pnl.CONTROLS == V.CONTROLS
    assert pnl.ORDINAL_OUTCOMES == M.ORDINAL_OUTCOMES == V.ORDINAL_OUTCOMES
    assert M.MODERATORS == V.MODERATORS and set(M.MODERATORS) <= set(M.CONTROL_COLUMNS)
    assert [*V.CONTROLS, "region_density"] == M.CONTROL_COLUMNS
    for name, cols in M.CONTROL_SETS.items():
        assert set(cols) <= set(M.CONTROL_COLUMNS), name
    with pytest.raises(AttributeError):
        V.NO_SUCH_LIST  # noqa: B018


def test_instruments_and_rationale():
    assert V.instruments_for("physint") == ["cat", "cat_op", "iccpr"]
    assert V.instruments_for("wbl_index") == ["cedaw", "cedaw_op"]
    assert set(V.outcomes_for("crc")) == {
        "ratio_of_girls_to_boys_in_primary_and_secondary_education_perc",
        "teen_fertility_rate_births_per_1000_women_ages_15_19",
    }
    assert {"v2x_gender", "wopol", "sg_gen_parl_zs", "sh_sta_mmr"} <= set(V.outcomes_for("cedaw"))
    assert V.outcomes_for("cmw") == []
    reg = V.registry()
    out = reg[reg["role"] == "outcome"]
    assert (out["instruments"].map(len) > 0).all() and (out["rationale"].str.len() > 20).all()
    assert (reg.loc[reg["role"] != "outcome", "instruments"].map(len) == 0).all()
    with pytest.raises(ParameterError, match="v2x_gender"):
        V.instruments_for("ln_gdppc")
    with pytest.raises(ParameterError, match="cedaw_op"):
        V.outcomes_for("cedow")


def test_sources_and_loaders():
    assert V.source_of("v2x_gender") == "vdemlite" and V.source_of("ln_gdppc") == "wdi_plsc504"
    assert V.source_of("cedaw_ratified") == "untc_hr_treaties_2026"
    with pytest.raises(ParameterError, match="no_such_column"):
        V.source_of("no_such_column")
    names = list(V.loaders())
    assert names[0] == "vdem.load_vdem" and len(names) == len(set(names)) == 12
    assert V.loaders()["wbl.load_wbl"].__name__ == "load_wbl"
    assert V.loader_columns("maddison.load_maddison") == ["mpd_gdppc", "mpd_pop"]
    assert "worldbank.load_regions" in V.available_loaders()


def test_term_labels_of_columns_and_model_terms():
    assert V.term_label("cedaw_ratified_l1") == "CEDAW ratified (t\u22121)"
    assert V.term_label("v2x_polyarchy_l2") == "Democracy (polyarchy, t\u22122)"
    assert V.term_label("cedaw_ratified_l1_x_nhri_a_status") == (
        "CEDAW ratified (t\u22121) \u00d7 NHRI A status (proxy, t\u22121)"
    )
    assert V.term_label("income_LM_l1") == "Income group: lower middle (t\u22121)"
    assert V.term_label("crc_ys_10plus_l1") == "CRC ratified 10+ years (t\u22121)"
    assert V.term_label("cedaw_ys_0_4_l1", plain=True) == "CEDAW ratified 0-4 years (t-1)"
    assert V.term_label("duration_2", plain=True) == "(Years at risk / 10)^2"
    assert V.variable_label("region_density") == "Regional ratification density"
    assert V.label("no_such_column") == "no_such_column" == V.term_label("no_such_column")
    # inside a sentence: a lower-case start, except acronyms and a user's own column names
    assert V.in_sentence("v2x_gender") == "women's political empowerment"
    assert V.in_sentence("wecon") == "CIRI women's economic rights"
    assert V.in_sentence("PacksPerCapita") == "PacksPerCapita"
    with pytest.raises(ParameterError, match="labels"):
        V.add_term_labels({"x": ""})


# --------------------------------------------------------------------------------------------------------------
# bad tables
# --------------------------------------------------------------------------------------------------------------
def _edit(target: str, **cells):
    def f(rows):
        for r in rows:
            if r["column"] == target:
                r.update(cells)
        return rows

    return f


BAD = [
    (
        "unknown role",
        _edit("v2x_gender", role="outcom"),
        "v2x_gender",
        "role",
        r"unknown role 'outcom'; valid values: id, treaty",
    ),
    (
        "unknown source",
        _edit("wecon", source="ciri2"),
        "wecon",
        "source",
        r"unknown source 'ciri2'.*vdemlite",
    ),
    (
        "unknown instrument",
        _edit("wopol", instruments="cedaw;cedow"),
        "wopol",
        "instruments",
        r"\['cedow'\].*cedaw_op",
    ),
    (
        "min above max",
        _edit("polity2", min="10", max="-10"),
        "polity2",
        "min",
        r"min 10 is greater than max -10",
    ),
    (
        "years reversed",
        _edit("wbl_pay", first_year="2019", last_year="1970"),
        "wbl_pay",
        "first_year",
        r"greater",
    ),
    ("not a number", _edit("wbl_pay", max="one hundred"), "wbl_pay", "max", r"'one hundred' is not a number"),
    (
        "loader",
        _edit("mpd_pop", loader="maddison.load_madison"),
        "mpd_pop",
        "loader",
        r"'maddison.load_madison' does not resolve.*valid: derived, .*maddison\.load_maddison",
    ),
    ("no module", _edit("mpd_pop", loader="madison.load_maddison"), "mpd_pop", "loader", r"does not resolve"),
    ("blank label", _edit("sh_sta_mmr", label=""), "sh_sta_mmr", "label", r"must not be blank"),
    (
        "flag",
        _edit("ln_gdppc", moderator="yes"),
        "ln_gdppc",
        "moderator",
        r"'yes' is not a flag; valid values: 0, 1",
    ),
    (
        "outcome without instruments",
        _edit("wosoc", instruments="", rationale=""),
        "wosoc",
        "instruments",
        r"names no instrument",
    ),
    (
        "instruments on a control",
        _edit("ln_pop", instruments="cedaw"),
        "ln_pop",
        "instruments",
        r"only outcomes",
    ),
    (
        "placeholder",
        _edit("{treaty}_signed", label="{shrt} signed"),
        "{treaty}_signed",
        "label",
        r"unknown placeholder.*\{short\}",
    ),
    (
        "template role",
        _edit("{treaty}_signed", role="auxiliary"),
        "{treaty}_signed",
        "role",
        r"must have role 'treaty'",
    ),
    (
        "treaty prefix",
        _edit("cedaw_res_any", column="res_any"),
        "res_any",
        "column",
        r"must start with an instrument",
    ),
    ("column name", _edit("ln_pop", column="ln pop"), "ln pop", "column", r"not a column name"),
    (
        "duplicate label",
        _edit("ln_pop", label="ln GDP per capita"),
        "ln_pop",
        "label",
        r"'ln GDP per capita' is already used by row \d+",
    ),
]


@pytest.mark.parametrize(("case", "edit", "at", "column", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_table_errors_name_file_row_and_column(tmp_path, case, edit, at, column, message):
    rows = edit(_rows())
    path = _write(tmp_path / "variables.csv", rows)
    with pytest.raises(DataError) as e:
        V.load(path)
    text = str(e.value)
    assert text.startswith(f"{path}: row {_line(rows, at)} column {column!r}: "), text
    assert re.search(message, text), text


def test_duplicate_column_names_both_rows(tmp_path):
    rows = _rows()
    rows.append(dict(rows[_line(rows, "ln_pop") - 2]))
    rows[-1]["label"] = "Another label"
    path = _write(tmp_path / "variables.csv", rows)
    with pytest.raises(
        DataError,
        match=rf"row {len(rows) + 1} column 'column': 'ln_pop' is already used by row "
        rf"{_line(rows, 'ln_pop')}",
    ):
        V.load(path)


def test_expanded_duplicate_is_caught(tmp_path):
    """An explicit row that a template also makes (cedaw_signed) is a duplicate column."""
    rows = _rows()
    rows.append({**rows[_line(rows, "cedaw_res_any") - 2], "column": "cedaw_signed", "label": "x"})
    with pytest.raises(DataError, match=r"'cedaw_signed' is already used by row"):
        V.load(_write(tmp_path / "variables.csv", rows))


def test_bad_header_and_missing_file(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "unit"} for r in _rows()]
    path = _write(tmp_path / "variables.csv", rows, [c for c in V.TABLE_COLUMNS if c != "unit"])
    with pytest.raises(DataError, match=r"missing column\(s\) \['unit'\].*valid columns: column, role"):
        V.load(path)
    with pytest.raises(DataError, match="variable registry not found"):
        V.load(tmp_path / "absent.csv")


def test_loader_frame_must_match_its_registered_columns():
    df = pd.DataFrame({"iso3": ["AAA"], "year": [2000], "mpd_gdppc": [1.0], "mpd_extra": [2.0]})
    with pytest.raises(
        DataError,
        match=r"maddison.load_maddison: returns column\(s\) \['mpd_extra'\].*"
        r"does not return registered column\(s\) \['mpd_pop'\]",
    ):
        pnl.registered_frame("maddison.load_maddison", df)
    ok = pnl.registered_frame("maddison.load_maddison", df.drop(columns="mpd_extra").assign(mpd_pop=3.0))
    assert list(ok.columns) == ["iso3", "year", "mpd_gdppc", "mpd_pop"]


def test_built_panel_must_hold_exactly_the_registered_columns():
    cols = V.registered_columns(["cedaw"])
    assert "cedaw_res_any" in cols and "cedaw_op_ratified" not in cols and "ced_signed" not in cols
    p = pd.DataFrame(columns=[*cols, "stray"])
    with pytest.raises(DataError, match=r"column\(s\) \['stray'\] are not registered"):
        pnl.check_registered_columns(p, ["cedaw"])
    with pytest.raises(DataError, match=r"registered column\(s\) \['ln_pop'\] were not built"):
        pnl.check_registered_columns(pd.DataFrame(columns=[c for c in cols if c != "ln_pop"]), ["cedaw"])
    pnl.check_registered_columns(pd.DataFrame(columns=cols), ["cedaw"])


def test_data_dictionary_takes_label_role_and_meaning_from_the_registry():
    p = pd.DataFrame(
        {"iso3": ["AAA", "AAA"], "year": [1990, 1991], "wopol": [np.nan, 2.0], "mystery": [1, 2]}
    )
    d = pnl.data_dictionary(p).set_index("column")
    assert list(d.reset_index().columns) == pnl.DICTIONARY_COLUMNS
    assert d.loc["wopol", "label"] == "CIRI women's political rights" and d.loc["wopol", "role"] == "outcome"
    assert d.loc["wopol", "source"] == "ciri" and d.loc["wopol", "unit"] == "ordinal 0-3"
    assert d.loc["wopol", "first_year"] == 1991 and d.loc["wopol", "n_nonmissing"] == 1
    assert d.loc["iso3", "role"] == "id" and d.loc["mystery", "role"] == "unregistered"


# --------------------------------------------------------------------------------------------------------------
# a new variable through the documented path: one loader function + one row
# --------------------------------------------------------------------------------------------------------------
TOY_LOADER = '''
    """A toy source: one loader function returning a tidy iso3, year frame."""
    from pathlib import Path

    import pandas as pd

    from helpers.data.sources.common import finish, read_csv

    TOY_FILE = Path(__file__).with_name("toy.csv")


    def load_toy() -> pd.DataFrame:
        df = pd.read_csv(TOY_FILE)
        return finish(df, TOY_FILE, ["toy_index"])
'''
TOY_ROW = {
    "column": "toy_index",
    "role": "outcome",
    "label": "Toy index",
    "moderator": "0",
    "ordinal": "0",
    "source": "toy_source",
    "loader": "toy.load_toy",
    "meaning": "A toy index made up for a test",
    "unit": "score 0-1",
    "min": "0",
    "max": "1",
    "first_year": "1990",
    "last_year": "2000",
    "instruments": "cedaw",
    "rationale": "A made-up outcome that exercises the one-row recipe of the README.",
}


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A loader package with one toy loader, a raw file registered in a copy of data/registry.tsv, and a copy of the
    variable table with one more row."""
    pkg = tmp_path / "toyloaders"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "toy.py").write_text(textwrap.dedent(TOY_LOADER))
    grid = pd.MultiIndex.from_product([["PAK", "FRA", "BRA"], range(1990, 2001)], names=["iso3", "year"])
    data = grid.to_frame(index=False).assign(toy_index=lambda d: (d["year"] - 1990) / 10)
    data.to_csv(pkg / "toy.csv", index=False)
    raw = (pkg / "toy.csv").read_bytes()
    reg = pd.read_csv(paths.REGISTRY, sep="\t", dtype=str, keep_default_na=False)
    row = dict.fromkeys(reg.columns, "")
    row.update(source="toy_source", file="toy_source/toy.csv", sha256=hashlib.sha256(raw).hexdigest())
    row.update(bytes=str(len(raw)), url="https://example.org/toy.csv", licence="CC0", citation="A toy")
    pd.concat([reg, pd.DataFrame([row])]).to_csv(tmp_path / "registry.tsv", sep="\t", index=False)
    table = _write(tmp_path / "variables.csv", [*_rows(), TOY_ROW])
    monkeypatch.syspath_prepend(str(tmp_path))
    return {"table": table, "data_registry": tmp_path / "registry.tsv", "packages": ["toyloaders"]}


def test_toy_row_needs_its_loader_and_its_source(toy, tmp_path):
    with pytest.raises(DataError, match=r"column 'loader': 'toy.load_toy' does not resolve"):
        V.load(toy["table"], data_registry=toy["data_registry"])
    with pytest.raises(DataError, match=r"column 'source': unknown source 'toy_source'"):
        V.load(toy["table"], loader_packages=["toyloaders"])
    reg = V.load(toy["table"], data_registry=toy["data_registry"], loader_packages=["toyloaders"])
    assert reg["column"].iloc[-1] == "toy_index"
    assert "toy_index" not in V.OUTCOMES  # loading a table does not change the current one


@pytest.mark.realdata
@pytest.mark.slow
def test_toy_variable_reaches_panel_schema_dictionary_and_labels(toy):
    with V.using(toy["table"], data_registry=toy["data_registry"], loader_packages=toy["packages"]):
        assert "toy_index" in V.OUTCOMES and "toy_index" in V.outcomes_for("cedaw")
        assert list(V.loaders())[-1] == "toy.load_toy"
        p = pnl.build(treaties=["cedaw"], write=False, progress=False)
        # the panel
        assert p.set_index(["iso3", "year"]).loc[("PAK", 1995), "toy_index"] == pytest.approx(0.5)
        assert p.loc[p["year"] > 2000, "toy_index"].isna().all()
        assert "cedaw_res_any" in p and "iccpr_ratified" not in p
        # the schema: the registered range is checked
        bad = p.copy()
        bad.loc[bad["toy_index"].notna().idxmax(), "toy_index"] = 1.5
        with pytest.raises(DataError, match=r"'toy_index' failed in_range\(0.0, 1.0\)"):
            validate_panel(bad, ["cedaw"])
        # the data dictionary
        d = pnl.data_dictionary(p).set_index("column").loc["toy_index"]
        assert (d["label"], d["role"], d["source"], d["unit"]) == (
            "Toy index",
            "outcome",
            "toy_source",
            "score 0-1",
        )
        assert (d["first_year"], d["last_year"], d["n_countries"]) == (1990, 2000, 3)
        # figure and table labels
        assert figures.choice_label("outcome", "toy_index") == "Toy index"
        assert (
            V.term_label("cedaw_ratified_l1_x_toy_index")
            == "CEDAW ratified (t\u22121) \u00d7 Toy index (t\u22121)"
        )
    assert "toy_index" not in V.OUTCOMES and V.label("toy_index") == "toy_index"  # the tracked table is back
