"""Tests of helpers.timing: the risk set on a hand-built panel, Kaplan-Meier against a direct computation,
hazard models against statsmodels Logit and a simulated cloglog hazard, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core.errors import ParameterError
from helpers.estimate import models as M
from helpers.estimate import timing as TM
from helpers.pipeline.bench import synthetic_panel
from helpers.report import figures


def _tiny() -> pd.DataFrame:
    years = np.arange(1976, 1991)
    rows = []
    acts = {"AAA": 1982, "BBB": None, "CCC": 1977}
    for k, (iso, act) in enumerate(acts.items()):
        for y in years:
            rat = int(act is not None and y >= act)
            r = {
                "iso3": iso,
                "year": int(y),
                "region": "R1",
                "cedaw_year": act,
                "cedaw_ratified": rat,
                "cedaw_signed": rat,
                "cedaw_region_density": 0.1 * (y - 1975),
                "ln_gdppc": float(y) + k / 10,
                "v2x_polyarchy": 0.5,
                "v2xcs_ccsi": 0.4,
                "iccpr_ratified": int(y >= 1980 + k),
                "cat_ratified": int(iso == "AAA" and y >= 1988),
            }
            rows.append(r)
    p = pd.DataFrame(rows)
    p["cedaw_year"] = pd.array(p["cedaw_year"], dtype="Int64")
    return p


def test_risk_set_on_hand_built_panel():
    r = TM.at_risk_set(_tiny(), "cedaw")
    assert r.attrs["adopted"] == 1979
    assert r.attrs["already_parties"] == ["CCC"]  # party since 1977, before CEDAW's adoption year entry
    a = r[r["iso3"] == "AAA"]
    assert a["year"].tolist() == [1979, 1980, 1981, 1982] and a["event"].tolist() == [0, 0, 0, 1]
    assert a["duration"].tolist() == [1, 2, 3, 4]
    b = r[r["iso3"] == "BBB"]
    assert b["year"].min() == 1979 and b["year"].max() == 1990 and b["event"].sum() == 0
    # covariates lagged one calendar year
    assert a.loc[a["year"] == 1981, "ln_gdppc"].iloc[0] == pytest.approx(1980.0)
    assert a.loc[a["year"] == 1981, "region_density"].iloc[0] == pytest.approx(0.5)
    # n_other_ratified (t-1): AAA ratified iccpr in 1980 -> 1 in 1981
    assert a.set_index("year")["n_other_ratified"].to_dict() == {1979: 0, 1980: 0, 1981: 1, 1982: 1}
    assert (b.set_index("year").loc[1983, "n_other_ratified"]) == 1  # BBB iccpr 1981


def test_start_end_year_filters():
    r = TM.at_risk_set(_tiny(), "cedaw", start_year=1981, end_year=1985)
    assert r["year"].between(1981, 1985).all()
    assert r.loc[r["iso3"] == "AAA", "duration"].tolist() == [1, 2]


@pytest.fixture(scope="module")
def risk():
    return TM.at_risk_set(synthetic_panel(n_countries=80, n_years=40, first_year=1975, seed=4), "cedaw")


def test_kaplan_meier_matches_direct_computation(risk):
    km = TM.kaplan_meier(risk)
    sp = TM.spells(risk)
    # direct product-limit estimator
    s = 1.0
    for t in sorted(sp.loc[sp["event"] == 1, "duration"].unique()):
        n_risk = (sp["duration"] >= t).sum()
        d = ((sp["duration"] == t) & (sp["event"] == 1)).sum()
        s *= 1 - d / n_risk
        got = km.loc[km["time"] == t, "survival"].iloc[0]
        assert got == pytest.approx(s, rel=1e-12)
    assert km["survival"].is_monotonic_decreasing
    assert (km["conf_low"] <= km["survival"] + 1e-12).all() and (
        km["conf_high"] >= km["survival"] - 1e-12
    ).all()
    by = TM.kaplan_meier(risk, by="region")
    assert set(by["group"]) == set(sp["region"].dropna())
    # no v2x_regime in the synthetic panel: regime type falls back to polyarchy >= 0.5 in the entry year
    reg = TM.kaplan_meier(risk, by="regime")
    assert set(reg["group"]) <= {"Democracy (polyarchy >= 0.5)", "Autocracy (polyarchy < 0.5)", "unknown"}
    assert sum(reg.attrs["n_countries"].values()) == len(sp)


def test_hazard_logit_equals_statsmodels_logit(risk):
    import statsmodels.api as sm

    h = TM.hazard_model(risk, link="logit")
    terms = TM.DEFAULT_COVARIATES + ["ln_duration"]
    d = risk.dropna(subset=terms)
    X = sm.add_constant(d[terms].astype(float))
    ref = sm.Logit(d["event"].astype(float), X).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(d["iso3"])[0]}
    )
    got = h.coefs.set_index("term")
    np.testing.assert_allclose(got["estimate"], ref.params[got.index], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got["std_error"], ref.bse[got.index], rtol=1e-5)
    orr = TM.odds_ratios(h).set_index("term")
    np.testing.assert_allclose(orr["ratio"], np.exp(ref.params[orr.index]), rtol=1e-6)
    assert (orr["ratio_type"] == "odds ratio").all()
    assert ((orr["conf_low"] < orr["ratio"]) & (orr["ratio"] < orr["conf_high"])).all()
    assert h.n_obs == len(d) and h.estimator == "hazard_logit"


def test_hazard_cloglog_recovers_simulated_effect():
    rng = np.random.default_rng(0)
    n_c, T = 400, 30
    rows = []
    for c in range(n_c):
        for t in range(1, T + 1):
            x = rng.normal()
            p = 1 - np.exp(-np.exp(-3.0 + 0.7 * x))
            ev = rng.random() < p
            rows.append(
                {"iso3": f"C{c}", "year": 1980 + t, "event": int(ev), "ln_gdppc": x, "ln_duration": np.log(t)}
            )
            if ev:
                break
    risk = pd.DataFrame(rows)
    risk.attrs.update({"covariates": ["ln_gdppc"], "baseline": "none", "treaty": "cedaw"})
    h = TM.hazard_model(risk, link="cloglog")
    b = h.coefs.set_index("term").loc["ln_gdppc"]
    assert abs(b["estimate"] - 0.7) < 4 * b["std_error"]
    assert (TM.odds_ratios(h)["ratio_type"] == "hazard ratio").all()


def test_bad_inputs(risk):
    with pytest.raises(ParameterError, match="covariates.*valid values"):
        TM.at_risk_set(_tiny(), "cedaw", covariates=["gdp"])
    with pytest.raises(ParameterError, match="'treaty'"):
        TM.at_risk_set(_tiny(), "cedawx")
    with pytest.raises(ParameterError, match="'link'"):
        TM.hazard_model(risk, link="probit")
    with pytest.raises(ParameterError, match="'by'"):
        TM.kaplan_meier(risk, by="income")
    with pytest.raises(ParameterError, match="baseline"):
        TM.at_risk_set(_tiny(), "cedaw", baseline="weibull")


def test_too_few_events_is_skipped():
    r = TM.at_risk_set(_tiny(), "cedaw")
    h = TM.hazard_model(r)
    assert h.skipped is not None and "too few events" in h.skipped
    assert isinstance(h, M.FitResult)


def test_figures_use_readable_labels_and_log_ticks(risk):
    hz = [TM.hazard_model(risk, link=link) for link in TM.LINKS]
    ratios = pd.concat([TM.odds_ratios(r) for r in hz], ignore_index=True)
    fig = figures.ratio_figure(ratios, title="t")
    ticks = list(fig.layout.yaxis.ticktext)
    assert "ln GDP per capita" in ticks and "Democracy (polyarchy)" in ticks and "ln_gdppc" not in ticks
    vals = list(fig.layout.xaxis.tickvals)
    lo, hi = ratios[["conf_low", "ratio"]].min().min(), ratios[["conf_high", "ratio"]].max().max()
    assert (
        all(f"{v:e}"[0] in "125" for v in vals) and min(vals) <= max(lo, 1e-6) * 1.3 and max(vals) >= hi / 1.3
    )
    km = TM.kaplan_meier(risk, by="region")
    kfig = figures.km_figure(km)
    names = [t.name for t in kfig.data if t.showlegend is not False]
    assert len(names) == km["group"].nunique() and all("(n=" in n for n in names)
    assert kfig.layout.legend.x > 0.5 and kfig.layout.legend.y < 0.5  # inside, lower right
