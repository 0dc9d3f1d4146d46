"""The specification curve's samples and joint inference (issue 9 item 2, inference): common versus own samples,
two-way and Driscoll-Kraay SEs in the engine, and the null draws of the joint test (Simonsohn, Simmons and Nelson
2020) against a plain pyfixest refit per draw, on synthetic panels with and without an effect."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers.core.errors import ParameterError
from helpers.estimate import fe
from helpers.estimate import models as M
from helpers.estimate import specs as S
from helpers.pipeline.bench import synthetic_panel
from helpers.report import figures


@pytest.fixture(scope="module")
def gappy() -> pd.DataFrame:
    """Synthetic panel whose income group starts in 1990 (as the World Bank's starts in 1987)."""
    p = synthetic_panel(n_countries=40, n_years=30, first_year=1980, seed=5)
    p.loc[p["year"] < 1990, "income_group"] = pd.NA
    return p


@pytest.fixture(scope="module")
def small_grid(gappy) -> pd.DataFrame:
    return S.specification_grid(
        panel=gappy,
        outcomes=["v2x_gender", "v2x_genpp"],
        codings=["ratified", "years_since_binned"],
        controls=["none", "cole_plus"],
        lags=[1],
        windows=[(1982, 2008)],
        estimators=["twfe", "twfe_ldv"],
    )


def test_common_sample_does_not_move_with_the_control_set(gappy, small_grid):
    common = S.run_specs(gappy, small_grid)
    own = S.run_specs(gappy, small_grid, sample_mode="own")
    assert (common["sample_mode"] == "common").all() and (own["sample_mode"] == "own").all()
    for _, g in common.groupby("outcome"):
        # one sample per outcome x window x lag: same rows whatever the controls, coding or estimator
        assert g["n_obs"].nunique() == 1 and g["first_year"].nunique() == 1
        assert (g["first_year"] == 1991).all() and (g["last_year"] == 2008).all()
    none_own = own[own["controls"].eq("none") & own["estimator"].eq("twfe")]
    assert (none_own["first_year"] == 1982).all()  # on their own, controls-free specs keep the window
    assert (own.loc[own["controls"].eq("cole_plus"), "first_year"] == 1991).all()
    assert (own["sample_years"] == own["first_year"].astype(int).astype(str) + "-2008").all()
    # each common-sample specification equals pyfixest on that sample (models.fit with rows=)
    ids = common["spec_id"].to_numpy()[[0, 3, 6, 13]]
    masks = S.sample_masks(gappy, small_grid, ids)
    for sid in ids:
        row = common.loc[common["spec_id"] == sid].iloc[0]
        f = M.fit(
            gappy,
            outcome=row.outcome,
            coding=row.coding,
            controls=row.controls,
            lag=1,
            estimator=row.estimator,
            years=(1982, 2008),
            rows=masks[sid],
        )
        assert f.n_obs == row.n_obs and f.sample_years == (row.first_year, row.last_year)
        assert row.estimate == pytest.approx(f.focal()["estimate"], abs=1e-10)
        assert row.std_error == pytest.approx(f.focal()["std_error"], rel=1e-8)
        assert row.n_switchers == f.sample_info["n_switchers"]
    with pytest.raises(ParameterError, match="spec_id"):
        S.sample_masks(gappy, small_grid, [10_000])
    with pytest.raises(ParameterError, match="sample_mode.*common, own"):
        S.run_specs(gappy, small_grid, sample_mode="mine")


@pytest.mark.parametrize("se", ["twoway", "DK"])
def test_engine_twoway_and_dk_equal_pyfixest(gappy, small_grid, se):
    res = S.run_specs(gappy, small_grid, se=se, sample_mode="own")
    for row in res.iloc[[0, 5, 10]].itertuples():
        f = M.fit(
            gappy,
            outcome=row.outcome,
            coding=row.coding,
            controls=row.controls,
            lag=1,
            estimator=row.estimator,
            years=(1982, 2008),
            se=se,
        ).focal()
        assert row.estimate == pytest.approx(f["estimate"], abs=1e-10)
        assert row.std_error == pytest.approx(f["std_error"], rel=1e-8)
        assert row.p_value == pytest.approx(f["p_value"], rel=1e-6, abs=1e-12)


# ---------------------------------------------------------------------------------------------- null draws


def _refit_draws(panel, grid, sid, se, seed, draws):
    """Slow reference: restricted fit with pyfixest, y* = fitted + residual x country weight, pyfixest refit."""
    import pyfixest as pf

    row = grid.loc[grid["spec_id"] == sid].iloc[0]
    mask = S.sample_masks(panel, grid, [sid])[sid]
    des = M.build_design(
        panel,
        outcome=row.outcome,
        coding=row.coding,
        controls=row.controls,
        lag=int(row.lag),
        estimator=row.estimator,
        years=(int(row.year_start), int(row.year_end)),
        rows=mask,
    )
    d = des.data.assign(**{M.DK_PANEL_ID: pd.factorize(des.data["iso3"])[0]})
    others = [x for x in des.regressors if x != des.focal]
    vcov, ssc = M.pyfixest_vcov(se)
    kw = M.pyfixest_vcov_kwargs(se, d["year"].nunique())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r0 = pf.feols(
            f"{des.y} ~ {' + '.join(others)} | iso3 + year",
            data=d,
            fixef_rm="none",
            demeaner=fe.pyfixest_demeaner(),
        )
        fitted = r0.predict()
        e0 = d[des.y].to_numpy() - fitted
        countries = np.unique(panel["iso3"].astype(str))
        W = S.draw_weights(countries, seed, 0, draws)
        pos = {c: i for i, c in enumerate(countries)}
        out = []
        for b in range(draws):
            w = W[[pos[c] for c in d["iso3"]], b]
            m = pf.feols(
                f"ystar ~ {' + '.join(des.regressors)} | iso3 + year",
                data=d.assign(ystar=fitted + e0 * w),
                vcov=vcov,
                ssc=ssc,
                vcov_kwargs=kw,
                fixef_rm="none",
                demeaner=fe.pyfixest_demeaner(),
            )
            t = m.tidy().loc[des.focal]
            out.append((float(t["Estimate"]), float(t["t value"])))
    return np.array(out)


@pytest.mark.parametrize("se", ["CRV1", "DK", "twoway"])
def test_null_draws_equal_a_refit_per_draw(gappy, small_grid, se):
    nd = S.null_estimates(gappy, small_grid, seed=3, start=0, stop=3, se=se)
    assert list(nd.spec_id) == sorted(small_grid["spec_id"])
    for sid in (0, 7, 13):
        ref = _refit_draws(gappy, small_grid, sid, se, seed=3, draws=3)
        k = int(np.flatnonzero(nd.spec_id == sid)[0])
        np.testing.assert_allclose(nd.estimate[k], ref[:, 0], rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(nd.statistic[k], ref[:, 1], rtol=1e-7)


def test_draws_are_a_pure_function_of_seed_and_index(gappy, small_grid):
    whole = S.null_draws(gappy, small_grid, seed=11, start=0, stop=7)
    parts = pd.concat(
        [S.null_draws(gappy, small_grid, seed=11, start=a, stop=b) for a, b in [(0, 3), (3, 7)]],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(whole, parts)
    assert list(whole["draw"]) == list(range(7))
    w = S.draw_weights(["A", "B", "C"], 11, 5, 6)
    np.testing.assert_array_equal(w[:, 0], np.random.default_rng([11, 5]).integers(0, 2, 3) * 2.0 - 1.0)
    assert not whole.drop(columns="draw").equals(
        S.null_draws(gappy, small_grid, seed=12, stop=7).drop(columns="draw")
    )
    with pytest.raises(ParameterError, match="CRV3"):
        S.null_estimates(gappy, small_grid, se="CRV3", stop=2)


def _joint(effect: float, seed: int) -> pd.DataFrame:
    p = synthetic_panel(n_countries=50, n_years=28, first_year=1980, seed=seed, effect=effect)
    g = S.specification_grid(
        panel=p,
        outcomes=["v2x_gender", "v2x_gencl", "v2x_genpp"],
        codings=["ratified", "years_since_binned"],
        controls=["none", "cole"],
        lags=[1],
        windows=[(1982, 2007)],
        estimators=["twfe"],
    )
    res = S.run_specs(p, g)
    return S.joint_test(res, S.null_draws(p, g, seed=1, stop=199))


def test_joint_test_known_effect_is_small_zero_effect_is_not():
    strong = _joint(effect=0.05, seed=21).set_index("statistic")
    assert (
        strong.loc[["median_estimate", "share_significant", "share_positive_significant"], "p_value"] < 0.01
    ).all()
    assert strong.loc["share_significant", "observed"] > 0.9
    null = _joint(effect=0.0, seed=21).set_index("statistic")
    assert (null["p_value"] > 0.05).all()
    assert (null["n_draws"] == 199).all() and "Simonsohn" in null["method"].iloc[0]


def test_joint_test_p_values_by_hand():
    res = pd.DataFrame(
        {
            "spec_id": [0, 1, 2],
            "estimate": [0.5, -0.1, 0.3],
            "statistic": [3.0, -0.5, 1.0],
            "df_t": [50.0, 50.0, 50.0],
            "outcome_sd": [1.0, 1.0, 2.0],
            "skipped": ["", "", ""],
        }
    )
    draws = pd.DataFrame(
        {
            "median_estimate": [0.0, 0.4, -0.3, 0.1],
            "median_std_estimate": [0.0, 0.1, 0.2, -0.3],
            "share_significant": [0.0, 1 / 3, 2 / 3, 0.0],
            "share_positive_significant": [0.0, 1 / 3, 0.0, 0.0],
            "share_negative_significant": [0.0, 0.0, 2 / 3, 0.0],
        }
    )
    j = S.joint_test(res, draws).set_index("statistic")
    assert j.loc["median_estimate", "observed"] == pytest.approx(0.3)
    assert j.loc["median_estimate", "p_value"] == pytest.approx(2 / 4)  # |0.4|, |-0.3| >= 0.3
    assert j.loc["median_std_estimate", "observed"] == pytest.approx(0.15)
    assert j.loc["median_std_estimate", "p_value"] == pytest.approx(2 / 4)
    assert j.loc["share_significant", "observed"] == pytest.approx(1 / 3)  # only t = 3 beyond t(50)
    assert j.loc["share_significant", "p_value"] == pytest.approx(2 / 4)
    assert j.loc["share_negative_significant", "p_value"] == pytest.approx(1.0)
    fig_text = figures.joint_text(j.reset_index())
    assert "(p = 0.500)" in fig_text and "4 draws" in fig_text


def test_curve_figure_shows_joint_test(gappy, small_grid):
    res = S.run_specs(gappy, small_grid, sample_mode="own")
    joint = S.joint_test(res, S.null_draws(gappy, small_grid, seed=2, stop=9, sample_mode="own"))
    fig = figures.spec_curve_figure(res, choices=S.CHOICE_COLUMNS + S.SAMPLE_COLUMNS, joint=joint)
    assert any("Joint test under the null" in (a.text or "") for a in fig.layout.annotations)
    assert "<b>Sample years</b>" in list(fig.layout.yaxis2.ticktext)


@pytest.mark.parametrize("workers", [1, 2])
def test_null_draws_through_the_engine_equal_one_run(gappy, small_grid, workers, monkeypatch):
    """Null draws as engine tasks of NULL_CHUNK draws: the same draws as one run, bit for bit whatever the number of
    workers (Dask's synchronous scheduler with 1, a 2-process LocalCluster with 2)."""
    monkeypatch.setattr(S, "NULL_CHUNK", 3)
    whole = S.null_estimates(gappy, small_grid, seed=5, start=0, stop=7)
    pieces = S.null_estimates_engine(gappy, small_grid, seed=5, stop=7, workers=workers)
    assert (pieces.start, pieces.stop) == (0, 7) and pieces.estimate.shape == whole.estimate.shape
    np.testing.assert_array_equal(pieces.spec_id, whole.spec_id)
    np.testing.assert_allclose(pieces.estimate, whole.estimate, rtol=1e-12, atol=1e-15)
    serial = S.null_estimates_engine(gappy, small_grid, seed=5, stop=7, workers=1)
    np.testing.assert_array_equal(pieces.estimate, serial.estimate)
    np.testing.assert_array_equal(pieces.statistic, serial.statistic)


def test_null_draws_engine_rejects_bad_settings(gappy, small_grid):
    with pytest.raises(ParameterError, match="n_null"):
        S.null_estimates_engine(gappy, small_grid, stop=0, workers=1)
    with pytest.raises(ParameterError, match="CRV3"):
        S.null_estimates_engine(gappy, small_grid, stop=3, se="CRV3", workers=1)
    nd = S.null_estimates(gappy, small_grid, seed=1, start=0, stop=2)
    with pytest.raises(ParameterError, match="contiguous"):
        S.NullDraws.concat([nd, nd])
