"""Tests of helpers.synth: known weights, Proposition 99 (Abadie et al.; Arkhangelsky et al. 2021), donor rule,
placebo inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core.errors import EmptySampleError, ParameterError
from helpers.estimate import synth
from helpers.report import figures


def factor_panel(seed=0, N=30, T=25, event=2015, effect=1.0, start=2000):
    """Donors follow two factors; the treated unit is exactly 0.5*u0 + 0.3*u1 + 0.2*u2 before the event."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(T, 2)).cumsum(axis=0)
    L = rng.normal(size=(N, 2))
    Y = L @ F.T + rng.normal(0, 0.05, (N, T))
    years = np.arange(start, start + T)
    y1 = 0.5 * Y[0] + 0.3 * Y[1] + 0.2 * Y[2] + effect * (years >= event)
    rows = [(f"u{i:02d}", t, Y[i, j], 0) for i in range(N) for j, t in enumerate(years)]
    rows += [("TRT", t, y1[j], int(t >= event)) for j, t in enumerate(years)]
    return pd.DataFrame(rows, columns=["unit", "year", "y", "status"])


def test_sc_recovers_known_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 15))
    w_true = np.zeros(15)
    w_true[[2, 7, 11]] = [0.6, 0.3, 0.1]
    w = synth.sc_weights(X, X @ w_true)
    np.testing.assert_allclose(w, w_true, atol=1e-6)
    # many donors: same optimum as the SLSQP reference solver
    X2 = rng.normal(size=(12, 80)).cumsum(axis=0)
    y2 = rng.normal(size=12).cumsum()
    a, b = synth.sc_weights(X2, y2), synth.sc_weights_slsqp(X2, y2)

    def loss(w):
        return ((X2 @ w - y2) ** 2).sum()

    assert loss(a) <= loss(b) + 1e-9 and a.min() >= 0 and a.sum() == pytest.approx(1)


def test_case_effect_recovered():
    df = factor_panel()
    res = synth.run_case(
        df, "unit", "year", "y", "TRT", 2015, window=(15, 9), status_col="status", sdid_placebos=10
    )
    t = res["tidy"].set_index("estimator")
    assert t.loc["synthetic_control", "estimate"] == pytest.approx(1.0, abs=0.1)
    assert t.loc["synthetic_did", "estimate"] == pytest.approx(1.0, abs=0.15)
    w = res["weights"].set_index("unit")["weight_sc"]
    assert w[["u00", "u01", "u02"]].sum() > 0.9
    assert t.loc["synthetic_control", "p_value"] == pytest.approx(1 / 31)  # treated ratio ranks first
    assert res["fit"].set_index("method").loc["sc", "pre_rmspe"] < 0.05
    assert set(res["paths"].columns) >= {"time", "treated", "synthetic_sc", "synthetic_sdid"}


@pytest.fixture(scope="module")
def prop99():
    sd = pytest.importorskip("synthdid")
    return sd.load_california_prop99()


def test_prop99_published_estimates(prop99):
    # Arkhangelsky et al. (2021, Table 1): SDID -15.6, SC -19.6, DiD -27.3 (synthdid R package: -15.604)
    res = synth.run_case(
        prop99,
        "State",
        "Year",
        "PacksPerCapita",
        "California",
        1989,
        window=(19, 12),  # 1970-1988 before, 1989-2000 from the event on
        status_col="treated",
        placebos=False,
    )
    t = res["tidy"].set_index("estimator")["estimate"]
    assert res["tidy"]["first_period"].iloc[0] == 1970 and res["tidy"]["last_period"].iloc[0] == 2000
    assert round(t["synthetic_did"], 3) == -15.604
    # synthdid's regularised SC (R synthdid README: sc_estimate -19.62), reported next to the exact convex SC
    assert t["synthetic_control_regularised"] == pytest.approx(-19.62, abs=0.005)
    fit = res["fit"].set_index("method")
    assert {"sc", "sc_fw"} <= set(fit.index) and (fit["pre_rmspe"] > 0).all()
    assert fit.loc["sc", "pre_rmspe"] <= fit.loc["sc_fw", "pre_rmspe"] + 1e-9  # exact SC: best pre-period fit
    assert round(t["did_2x2"], 2) == -27.35
    assert t["synthetic_control"] == pytest.approx(-19.6, abs=0.15)
    # our exact simplex solution fits the pre-period at least as well as synthdid's Frank-Wolfe SC
    import synthdid as sd

    case = res["case"]
    Y = case.Y.to_numpy()
    om = np.asarray(sd.sc_estimate(Y, case.N0, case.T0).weights.omega)
    ours = res["fits"]["sc"]["weights"].to_numpy()

    def loss(w):
        return ((Y[:-1, :19].T @ w - Y[-1, :19]) ** 2).sum()

    assert loss(ours) <= loss(om) + 1e-8


def test_donor_rule_and_errors():
    df = factor_panel()
    # u05 becomes treated inside the window, u06 outside it, u07 misses a year
    df.loc[(df["unit"] == "u05") & (df["year"] >= 2012), "status"] = 1
    df.loc[(df["unit"] == "u06") & (df["year"] >= 2024), "status"] = 1
    df = df[~((df["unit"] == "u07") & (df["year"] == 2012))]
    # u08 was treated throughout (long before the window): a donor only under the old "status" rule
    df.loc[df["unit"] == "u08", "status"] = 1
    donors, excl, rule = synth.donor_pool(df, "unit", "year", "y", "TRT", 2015, (5, 5), status_col="status")
    assert "u05" not in donors and "u06" in donors and "u07" not in donors and "TRT" not in donors
    assert "u08" not in donors and "[2010, 2019]" in rule  # 5 periods before 2015, 5 from 2015 on
    assert excl.set_index("unit").loc["u05", "reason"].startswith("status not 0")
    old, excl_old, _ = synth.donor_pool(
        df, "unit", "year", "y", "TRT", 2015, (5, 5), status_col="status", donor_rule="status"
    )
    assert "u08" in old and "u05" not in old
    assert excl_old.set_index("unit").loc["u05", "reason"].startswith("status changes")
    with pytest.raises(EmptySampleError, match="no usable donors"):
        synth.donor_pool(
            df.assign(status=np.where(df["year"] >= 2015, 1, 0)),
            "unit",
            "year",
            "y",
            "TRT",
            2015,
            (5, 5),
            status_col="status",
        )
    with pytest.raises(ParameterError):
        synth.donor_pool(df, "unit", "year", "y", "XXX", 2015, (5, 5))
    with pytest.raises(ParameterError, match="window"):
        synth.case_matrix(df, "unit", "year", "y", "TRT", 2015, (1, 5), donors)


def case_panel():
    """Four countries 1990-2000 with the project's treaty columns; B ratifies in 1995, D never."""
    rows = []
    for iso, name, first in [("AAA", "Aland", 1985), ("BBB", "Borduria", 1995), ("CCC", "Carpania", 2005)]:
        rows += [(iso, name, y, float(first), int(y >= first), 0.1 * y) for y in range(1990, 2001)]
    rows += [("DDD", "Dorado", y, np.nan, 0, 0.1 * y) for y in range(1990, 2001)]
    return pd.DataFrame(rows, columns=["iso3", "country", "year", "cedaw_year", "cedaw_ratified", "y"])


def test_resolve_case_unit_event_and_donor_columns():
    df = case_panel()
    c = synth.resolve_case(df, "BBB", "cedaw")
    assert (c.unit, c.name, c.event) == ("BBB", "Borduria", 1995)
    assert (c.status_col, c.cohort_col) == ("cedaw_ratified", "cedaw_year")
    # by name, case-insensitively; an explicit event year wins over the treaty's
    c = synth.resolve_case(df, "borduria", "cedaw", event_year=1993, donor_rule="cohort")
    assert synth.resolve_case(df, "BBB", "cedaw", donor_rule="status").status_col == "cedaw_ratified"
    assert (c.unit, c.event, c.status_col, c.cohort_col) == ("BBB", 1993, None, "cedaw_year")
    c = synth.resolve_case(df, "DDD", "cedaw", event_year=1996, donor_rule="none")
    assert (c.status_col, c.cohort_col) == (None, None)
    # explicit columns; a column the panel lacks is left out of the rule
    c = synth.resolve_case(
        df.rename(columns={"cedaw_ratified": "treated"}), "AAA", "cedaw", status_col="treated"
    )
    assert (c.event, c.status_col) == (1985, "treated")
    # the default rule needs a first-treatment column: an error, not a silent "no rule"
    with pytest.raises(ParameterError, match="'donor_rule'.*no 'cat_year'"):
        synth.resolve_case(df, "AAA", "cat", event_year=1990)
    assert synth.resolve_case(df, "AAA", "cat", event_year=1990, donor_rule="none").cohort_col is None
    # another panel: unit column "unit", no names
    other = df.rename(columns={"iso3": "unit"}).drop(columns="country")
    c = synth.resolve_case(other, "CCC", "cedaw", unit_col="unit", name_col="")
    assert (c.unit, c.name, c.event) == ("CCC", "CCC", 2005)
    assert list(synth.DONOR_RULES) == ["untreated", "status", "cohort", "none"]


def test_resolve_case_errors_name_the_parameter():
    df = case_panel()
    with pytest.raises(ParameterError, match="'country': invalid value 'Atlantis'.*AAA, BBB, CCC, DDD"):
        synth.resolve_case(df, "Atlantis", "cedaw")
    with pytest.raises(ParameterError, match="'event_year'.*DDD never ratified cedaw"):
        synth.resolve_case(df, "Dorado", "cedaw")
    with pytest.raises(ParameterError, match="'event_year'.*no 'cat_year'"):
        synth.resolve_case(df, "AAA", "cat")
    with pytest.raises(ParameterError, match="'donor_rule'.*untreated, status, cohort, none"):
        synth.resolve_case(df, "AAA", "cedaw", donor_rule="all")
    with pytest.raises(ParameterError, match="'unit_col'"):
        synth.resolve_unit(df, "AAA", unit_col="code")


def test_placebo_p_values_null_case():
    df = factor_panel(effect=0.0, seed=3)
    res = synth.run_case(
        df, "unit", "year", "y", "TRT", 2015, window=(15, 9), status_col="status", sdid_placebos=8
    )
    pv = res["p_values"].set_index("method")
    assert pv.loc["sc", "n_placebos"] == 30 and pv.loc["sdid", "n_placebos"] == 8
    assert res["tidy"].set_index("estimator").loc["synthetic_did", "p_value"] > 0.1


def one_treated_panel(seed=0, N=25, T=16, start=2000, event=2008, effect=0.0):
    """Unit and year effects plus iid noise; unit 'TRT' (last) treated from ``event`` with ``effect``."""
    rng = np.random.default_rng(seed)
    years = np.arange(start, start + T)
    a, b = rng.normal(size=N + 1), rng.normal(size=T).cumsum()
    units = [f"u{i:02d}" for i in range(N)] + ["TRT"]
    rows = [
        (u, t, a[i] + b[j] + effect * (u == "TRT" and t >= event) + rng.normal(0, 0.3))
        for i, u in enumerate(units)
        for j, t in enumerate(years)
    ]
    return pd.DataFrame(rows, columns=["unit", "year", "y"])


def test_did_regression_equals_2x2_and_pyfixest():
    import pyfixest as pf

    df = one_treated_panel(effect=0.5)
    donors = sorted(set(df["unit"]) - {"TRT"})
    case = synth.case_matrix(df, "unit", "year", "y", "TRT", 2008, (6, 6), donors)
    long = synth.case_long(case)
    assert len(long) == case.Y.size and long["treated_post"].sum() == 6  # 2008..2013
    w = synth.did_wild_bootstrap(case, B=99, seed=1)
    assert w["estimate"].iloc[0] == pytest.approx(synth.did_2x2(case)["estimate"], abs=1e-10)
    fit = pf.feols(
        "y ~ treated_post | unit + time",
        data=long,
        vcov={"CRV1": "unit"},
        ssc=pf.ssc(k_adj=False, G_adj=True),
    )
    assert w["statistic"].iloc[0] == pytest.approx(fit.tstat()["treated_post"], rel=1e-6)
    assert w["p_value_crv1"].iloc[0] == pytest.approx(fit.pvalue()["treated_post"], rel=1e-6)
    assert w["n_treated_clusters"].iloc[0] == 1 and "MacKinnon" in w["caveat"].iloc[0]


def test_wild_bootstrap_fails_with_one_treated_cluster():
    # MacKinnon and Webb (2017, 2018): with one treated cluster the restricted wild bootstrap almost never
    # rejects and the CRV1 t-test over-rejects. Each donor as pseudo-treated under a true null shows both.
    df = one_treated_panel(seed=5, N=30)
    donors = sorted(set(df["unit"]) - {"TRT"})
    case = synth.case_matrix(df, "unit", "year", "y", "TRT", 2008, (6, 6), donors)
    chk = synth.did_wild_placebo_check(case, B=99, seed=2)
    assert list(chk["unit"]) == donors
    first = synth.Case(
        pd.concat([case.Y.iloc[:-1].drop(index=donors[0]), case.Y.iloc[:-1].loc[[donors[0]]]]),
        donors[0],
        2008,
        6,
    )
    assert chk["estimate"].iloc[0] == pytest.approx(synth.did_2x2(first)["estimate"], abs=1e-10)
    assert (chk["p_wild"] <= 0.05).mean() < 0.05
    assert (chk["p_crv1"] <= 0.05).mean() > 0.2
    assert chk["p_wild"].between(0.2, 0.8).mean() > 0.9  # bunched around 0.5, not uniform


def test_treaty_timeline_act_type_only_on_act_rows():
    rat = pd.DataFrame(
        {
            "iso3": ["PAK", "PAK", "PAK", "FRA"],
            "treaty": ["cerd", "cedaw", "iccpr_op1", "cerd"],
            "signature_date": pd.to_datetime(["1966-09-19", None, "1990-01-01", "1971-07-28"]),
            "ratification_date": pd.to_datetime(["1966-09-21", "1996-03-12", "1991-01-01", "1971-07-28"]),
            "act_type": pd.array(["ratification", "accession", pd.NA, "accession"], dtype="string"),
            "denounced_date": pd.to_datetime([None, None, "1999-05-01", None]),
        }
    )
    tl = synth.treaty_timeline(rat, "PAK")
    assert tl["event"].tolist() == [
        "signature",
        "ratification",
        "signature",
        "ratification",
        "accession",
        "denunciation",
    ]
    assert tl.loc[tl["event"] == "signature", "act_type"].isna().all()
    assert tl.loc[tl["event"] == "denunciation", "act_type"].isna().all()
    assert tl.loc[tl["treaty"] == "cerd"].set_index("event").loc["ratification", "act_type"] == "ratification"
    assert tl.loc[tl["treaty"] == "cedaw", "act_type"].tolist() == ["accession"]
    ev = synth.timeline_events(rat, "PAK", first="cedaw")
    assert ev["treaty"].iloc[:3].tolist() == ["cedaw", "cerd", "iccpr_op1"]  # chosen first, then by first act
    assert len(ev) == 18 and ev.iloc[3:]["ratification_date"].isna().all()
    assert ev["instrument"].iloc[:3].tolist() == ["CEDAW", "CERD", "ICCPR-OP1"]
    from helpers.report import plots

    fig = plots.country_timeline(ev, pd.DataFrame({"year": [1990, 2000], "value": [0.3, 0.4]}))
    assert "CEDAW" in fig.layout.yaxis.ticktext
    with pytest.raises(ParameterError, match="cedaw"):
        synth.timeline_events(rat, "PAK", first="cedwa")


def test_case_figures_readable():
    df = factor_panel()
    res = synth.run_case(
        df, "unit", "year", "y", "TRT", 2015, window=(15, 9), status_col="status", sdid_placebos=5
    )
    fig = figures.case_figure(res["paths"], 2015, treated_label="Treatland")
    assert [t.name for t in fig.data][-1] == "Treatland" and fig.layout.legend.orientation == "h"
    pf = figures.placebo_figure(res["placebos"], "sc", treated_label="Treatland")
    g = res["placebos"][res["placebos"]["method"] == "sc"]
    np.testing.assert_allclose(np.sort(pf.data[0].x), np.sort(np.log10(g.loc[~g["is_treated"], "ratio"])))
    assert "log10" in pf.layout.xaxis.title.text and "Treatland" in pf.layout.annotations[0].text


def test_default_pool_excludes_units_treated_before_the_window_end():
    """Issue 9 item 3: the default donor pool holds no unit first treated before the window ends."""
    df = case_panel()  # AAA first treated 1985, BBB 1995 (the case), CCC 2005, DDD never
    more = []
    for iso, first in [("EEE", np.nan), ("FFF", 1999), ("GGG", 2003)]:
        more += [
            (iso, iso, y, first, int(y >= first) if first == first else 0, 0.1 * y + 0.01 * len(iso))
            for y in range(1990, 2001)
        ]
    df = pd.concat([df, pd.DataFrame(more, columns=df.columns)], ignore_index=True)
    c = synth.resolve_case(df, "BBB", "cedaw")
    window = (3, 3)  # 1992-1997
    donors, excl, _ = synth.donor_pool(
        df, "iso3", "year", "y", c.unit, c.event, window, c.status_col, c.cohort_col
    )
    assert sorted(donors) == ["CCC", "DDD", "EEE", "FFF", "GGG"]  # FFF, GGG: first treated after 1997
    firsts = df.drop_duplicates("iso3").set_index("iso3")["cedaw_year"]
    assert all(pd.isna(firsts[u]) or firsts[u] > 1997 for u in donors)
    st = synth.donor_status(df, "iso3", "year", "BBB", 1995, window, donors, excl, "cedaw_year").set_index(
        "unit"
    )
    assert (
        st.loc["AAA", "status_in_window"] == "treated before the window (1985)" and not st.loc["AAA", "donor"]
    )
    assert st.loc["DDD", "status_in_window"] == "never treated" and st.loc["DDD", "donor"]
    old, _, _ = synth.donor_pool(
        df, "iso3", "year", "y", "BBB", 1995, window, "cedaw_ratified", "cedaw_year", "status"
    )
    assert "AAA" in old  # the old rule admits a unit treated ten years before the window


def test_own_panel_parameters_are_errors_not_no_ops():
    """Issue 11 item 8: a misspelled or inapplicable column parameter, a numeric unit given as text, a
    non-numeric outcome, and a panel without treaties."""
    df = case_panel()
    with pytest.raises(ParameterError, match="'status_col': invalid value 'cedaw_ratifed'"):
        synth.resolve_case(df, "BBB", "cedaw", status_col="cedaw_ratifed")
    with pytest.raises(ParameterError, match="'status_col'.*does not read it"):
        synth.resolve_case(df, "BBB", "cedaw", status_col="cedaw_ratified", donor_rule="cohort")
    with pytest.raises(ParameterError, match="'event_year'.*without a treaty"):
        synth.resolve_case(df, "BBB", "", donor_rule="none")
    c = synth.resolve_case(df, "BBB", "", event_year=1995, cohort_col="cedaw_year")
    assert (c.event, c.cohort_col, c.status_col) == (1995, "cedaw_year", None)
    num = df.assign(iso3=df["iso3"].map({"AAA": 1, "BBB": 2, "CCC": 3, "DDD": 4}))
    assert synth.resolve_unit(num, "3", "iso3", "") == 3
    with pytest.raises(ParameterError, match="'outcome'.*numeric"):
        synth.donor_pool(df, "iso3", "year", "iso3", "BBB", 1995, (2, 2), cohort_col="cedaw_year")
    with pytest.raises(ParameterError, match="'outcome'.*numeric"):
        synth.donor_pool(df, "iso3", "year", "country", "BBB", 1995, (2, 2), cohort_col="cedaw_year")


def test_window_reads_pre_and_post_periods():
    """Issue 11 own panel: window [pre, post] = pre periods before the event and post periods from it on, in the
    matrix and in the tidy output alike."""
    df = factor_panel()
    res = synth.run_case(
        df, "unit", "year", "y", "TRT", 2015, window=(6, 4), status_col="status", placebos=False
    )
    Y = res["case"].Y
    assert list(Y.columns) == list(range(2009, 2019)) and res["case"].T0 == 6
    assert (Y.columns >= 2015).sum() == 4
    t = res["tidy"].iloc[0]
    assert (t["window_pre"], t["window_post"], t["first_period"], t["last_period"]) == (6, 4, 2009, 2018)
    assert res["thin"] == ""
    few = synth.run_case(
        df,
        "unit",
        "year",
        "y",
        "TRT",
        2015,
        window=(6, 4),
        status_col="status",
        placebos=False,
        min_donors=50,
    )
    assert "fewer than min_donors = 50" in few["thin"]
