"""Benchmark of the specification-curve engine, and the synthetic panel used by tests and the benchmark.

``python -m helpers.bench`` (wired by the lead as ``make bench`` / ``python -m helpers bench``) builds the default
multiverse of >= 1,000 two-way fixed-effects specifications, times

* the project engine (:func:`helpers.specs.run_specs`: fixed effects swept once per sample),
* a loop of ``pyfixest.feols`` calls (on a subsample of specifications, extrapolated per specification),
* a loop of statsmodels OLS with country and year dummies (on a smaller subsample, extrapolated),
* CRV3 (country jackknife): the engine's exact leave-one-country-out downdates on the whole multiverse against
  pyfixest's CRV3, which refits the model once per country (on two specifications, extrapolated),

prints specifications per second for each and the ratios, and checks that coefficients and clustered standard
errors agree. It uses the project panel (``data/processed/panel.parquet``) when it exists, otherwise the synthetic
panel of :func:`synthetic_panel` (190 countries x 45 years), and says which.

:func:`synthetic_panel` writes a panel with the columns of the panel contract (keys, 18 treaties with
``_ratified/_year/_years_since/_signed/_region_density``, CEDAW reservations, outcomes and controls) and a known
true effect of lagged CEDAW ratification on ``v2x_gender`` (``TRUE_EFFECT``), for tests and for trying notebooks
before the real panel exists.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from helpers.data.treaties import TREATIES as _TREATY_INFO

TRUE_EFFECT = 0.05  # effect of cedaw_ratified (lagged one year) on v2x_gender in the synthetic panel

_TREATIES = list(_TREATY_INFO)
_OPEN_YEAR = {k: t.entry_into_force.year for k, t in _TREATY_INFO.items()}  # synthetic adoption starts here
_REGIONS = [
    "East Asia & Pacific",
    "Europe & Central Asia",
    "Latin America & Caribbean",
    "Middle East & North Africa",
    "North America",
    "South Asia",
    "Sub-Saharan Africa",
]


def synthetic_panel(
    n_countries: int = 190,
    n_years: int = 45,
    first_year: int = 1978,
    seed: int = 0,
    effect: float = TRUE_EFFECT,
    missing_share: float = 0.03,
) -> pd.DataFrame:
    """A synthetic country-year panel with the panel contract's columns and a known CEDAW effect.

    ``v2x_gender = a_country + g_year + effect * cedaw_ratified[t-1] + 0.02 * ln_gdppc[t-1]
    + 0.1 * v2x_polyarchy[t-1] + noise``; other V-Dem outcomes are noisy transforms; CIRI ``wecon/wopol/wosoc``
    are ordinal 0-3 (1981-2011) from a latent index with a positive CEDAW effect. Controls have a few random
    gaps (``missing_share``) so that samples differ across specifications, as in real data.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, first_year + n_years)
    iso = np.array([f"C{i:03d}" for i in range(n_countries)])
    region_of = rng.choice(len(_REGIONS), n_countries)
    ci = np.repeat(np.arange(n_countries), n_years)
    t = np.tile(np.arange(n_years), n_countries)
    year = years[t]
    region = np.array(_REGIONS)[region_of[ci]]
    cols: dict[str, object] = {
        "iso3": iso[ci],
        "year": year.astype(np.int64),
        "country": np.char.add("Country ", iso[ci]),
        "region": region,
    }

    def region_density(rat: np.ndarray) -> np.ndarray:
        key = region_of[ci] * n_years + t
        tot = np.bincount(key, weights=rat, minlength=len(_REGIONS) * n_years)[key]
        cnt = np.bincount(key, minlength=len(_REGIONS) * n_years)[key]
        return (tot - rat) / np.maximum(cnt - 1, 1)

    # treaties: random act years after the treaty opens; ~7 % never ratify
    for tr in _TREATIES:
        open_y = max(_OPEN_YEAR[tr], first_year - 10)
        act = open_y + rng.integers(0, 30, n_countries).astype(float)
        act[rng.random(n_countries) < 0.07] = np.nan
        sign = act - rng.integers(0, 4, n_countries)
        a = act[ci]
        rat = (~np.isnan(a)) & (year >= a)
        cols[f"{tr}_ratified"] = rat.astype(np.int64)
        cols[f"{tr}_year"] = pd.array(pd.Series(a).round(), dtype="Int64")
        cols[f"{tr}_years_since"] = np.where(rat, year - np.nan_to_num(a), 0).astype(np.int64)
        s = sign[ci]
        cols[f"{tr}_signed"] = ((~np.isnan(s)) & (year >= s)).astype(np.int64)
        cols[f"{tr}_region_density"] = region_density(rat.astype(float))
    for r, p in [("any", 0.3), ("art2", 0.15), ("art16", 0.2), ("art29", 0.25), ("general", 0.05)]:
        has = rng.random(n_countries) < p
        cols[f"cedaw_res_{r}"] = (cols["cedaw_ratified"] * has[ci]).astype(np.int64)

    # controls (random walks within country)
    def walk(scale, start_sd, start_mean=0.0):
        start = rng.normal(start_mean, start_sd, n_countries)[ci]
        steps = rng.normal(0, scale, len(ci))
        steps[t == 0] = 0
        return start + pd.Series(steps).groupby(ci).cumsum().to_numpy()

    n = len(ci)
    cols["ln_gdppc"] = walk(0.04, 1.0, 8.5)
    cols["ln_pop"] = walk(0.01, 1.5, 16.0) + 0.015 * t
    cols["v2x_polyarchy"] = np.clip(walk(0.03, 0.2, 0.5), 0.01, 0.99)
    cols["polity2"] = np.clip(np.round(cols["v2x_polyarchy"] * 20 - 10), -10, 10)
    cols["v2xcs_ccsi"] = np.clip(cols["v2x_polyarchy"] + rng.normal(0, 0.1, n), 0.01, 0.99)
    cols["ucdp_conflict"] = (rng.random(n) < 0.12).astype(np.int64)
    cols["ucdp_war"] = (cols["ucdp_conflict"] * (rng.random(n) < 0.3)).astype(np.int64)
    cols["nhri_a_status"] = (year > 1993 + rng.integers(0, 40, n_countries)[ci]).astype(np.int64)
    inc = np.digitize(cols["ln_gdppc"], [7.6, 8.5, 9.4])
    cols["income_group"] = pd.array(np.array(["L", "LM", "UM", "H"], dtype=object)[inc], dtype="string")

    def lag1(col):
        v = np.asarray(cols[col], dtype=float)
        out = np.r_[np.nan, v[:-1]]
        out[t == 0] = np.nan
        return out

    a_c = rng.normal(0, 0.15, n_countries)[ci]
    g_t = np.linspace(0, 0.2, n_years)[t]
    base = a_c + g_t + 0.02 * lag1("ln_gdppc") + 0.1 * lag1("v2x_polyarchy")
    treat = lag1("cedaw_ratified")
    cols["v2x_gender"] = 0.5 + base + effect * treat + rng.normal(0, 0.03, n)
    for k, (name, scale) in enumerate(
        [
            ("v2x_gencl", 1.0),
            ("v2x_gencs", 0.8),
            ("v2x_genpp", 1.2),
            ("v2lgfemleg", 40.0),
            ("v2clacjstw", 3.0),
            ("v2cldmovew", 3.0),
            ("v2csgender", 3.0),
            ("v2pepwrgen", 3.0),
            ("v2cldiscw", 3.0),
            ("v2clslavef", 3.0),
            ("v2clprptyw", 3.0),
            ("v2mefemjrn", 3.0),
            ("v2clgencl", 3.0),
            ("physint", 8.0),
            ("sh_sta_mmr", -300.0),
            ("sg_gen_parl_zs", 30.0),
            ("wbl_index", 60.0),
        ]
    ):
        cols[name] = scale * (base + (0.5 + 0.1 * k) * effect * treat + rng.normal(0, 0.04, n))
    cols["wbl_mobility"] = np.clip(cols["wbl_index"] + rng.normal(0, 5, n), 0, 100)
    latent = 8 * (base + effect * treat)
    out_ciri = (year < 1981) | (year > 2011) | np.isnan(latent)
    for name in ["wecon", "wopol", "wosoc"]:
        z = latent + rng.logistic(0, 1, n)
        lev = np.digitize(z, np.nanquantile(z, [0.25, 0.5, 0.8])).astype(float)
        lev[out_ciri] = np.nan
        cols[name] = pd.array(pd.Series(lev), dtype="Int64")
    df = pd.DataFrame(cols)

    # gaps: outcomes/controls missing at random; so samples differ across specifications, as in real data
    for col in ["ln_gdppc", "v2xcs_ccsi", "ucdp_conflict", "v2lgfemleg", "v2x_genpp"]:
        miss = rng.random(n) < missing_share
        if df[col].dtype.kind in "iu":
            df[col] = df[col].astype("Float64")
        df.loc[miss, col] = np.nan
    df.loc[df["year"].lt(1997), "sg_gen_parl_zs"] = np.nan
    df.loc[df["year"].gt(2019), ["wbl_index", "wbl_mobility"]] = np.nan
    return df.sort_values(["iso3", "year"]).reset_index(drop=True)


def _load_panel(synthetic: bool) -> tuple[pd.DataFrame, str]:
    from helpers.core import paths

    if not synthetic and paths.PANEL.exists():
        return pd.read_parquet(paths.PANEL), f"real panel {paths.PANEL}"
    why = "requested" if synthetic else "data/processed/panel.parquet absent"
    return synthetic_panel(190, 45), f"synthetic panel (190 countries x 45 years; {why})"


def run_benchmark(
    panel: pd.DataFrame | None = None,
    n_pyfixest: int = 40,
    n_statsmodels: int = 8,
    seed: int = 0,
    synthetic: bool = False,
    verbose: bool = True,
    n_crv3: int = 2,
) -> dict:
    """Time the engine on the default multiverse against pyfixest and statsmodels loops; return the numbers.

    The pyfixest and statsmodels loops run on random subsamples of the specifications (``n_pyfixest``,
    ``n_statsmodels``) and are extrapolated per specification; only the estimation calls are timed for them
    (their data frames are built beforehand), which favours the loops. Coefficients and CRV1 SEs of the
    subsampled specifications are compared with the engine's. The CRV3 line times the engine's exact jackknife
    on the whole multiverse against pyfixest's CRV3 (one refit per country) on ``n_crv3`` specifications.
    """
    import pyfixest as pf
    import statsmodels.formula.api as smf

    from helpers.estimate import fe
    from helpers.estimate import models as M
    from helpers.estimate import specs as S

    say = print if verbose else (lambda *a, **k: None)
    if panel is None:
        panel, source = _load_panel(synthetic)
    else:
        source = "panel given by caller"
    grid = S.specification_grid(panel=panel)
    say(f"data: {source}")
    say(
        f"multiverse: {len(grid)} specifications = outcomes {grid['outcome'].nunique()} x codings "
        f"{grid['coding'].nunique()} x control sets {grid['controls'].nunique()} x lags {grid['lag'].nunique()} "
        f"x windows {grid['window'].nunique()} x estimators {grid['estimator'].nunique()} (treaty cedaw)"
    )
    S.run_specs(panel, grid.head(10), progress=False, sample_mode="own")  # warm-up (imports, caches)
    t0 = time.perf_counter()
    res = S.run_specs(panel, grid, progress=False, sample_mode="own")  # per-spec samples, as the refits
    t_engine = time.perf_counter() - t0
    n_est = int(res["skipped"].eq("").sum())

    rng = np.random.default_rng(seed)
    ok_ids = res.loc[res["skipped"].eq(""), "spec_id"].to_numpy()
    sub_pf = np.sort(rng.choice(ok_ids, min(n_pyfixest, len(ok_ids)), replace=False))
    sub_sm = sub_pf[: min(n_statsmodels, len(sub_pf))]
    designs = {}
    for sid in sub_pf:
        r = grid.loc[grid["spec_id"] == sid].iloc[0]
        designs[sid] = M.build_design(
            panel,
            treaty=r.treaty,
            outcome=r.outcome,
            coding=r.coding,
            controls=r.controls,
            lag=int(r.lag),
            estimator=r.estimator,
            years=(int(r.year_start), int(r.year_end)),
        )
    vcov, ssc = M.pyfixest_vcov("CRV1")
    pf_out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.feols(
            f"{designs[sub_pf[0]].y} ~ {designs[sub_pf[0]].focal} | iso3 + year", data=designs[sub_pf[0]].data
        )
        t0 = time.perf_counter()
        for sid in sub_pf:
            des = designs[sid]
            m = pf.feols(
                f"{des.y} ~ {' + '.join(des.regressors)} | iso3 + year",
                data=des.data,
                vcov=vcov,
                ssc=ssc,
                fixef_rm="none",
                demeaner=fe.pyfixest_demeaner(),
            )
            tb = m.tidy().loc[des.focal]
            pf_out[sid] = (float(tb["Estimate"]), float(tb["Std. Error"]))
        t_pf = (time.perf_counter() - t0) / len(sub_pf)
        sm_out = {}
        t0 = time.perf_counter()
        for sid in sub_sm:
            des = designs[sid]
            d = des.data
            fit = smf.ols(f"{des.y} ~ {' + '.join(des.regressors)} + C(iso3) + C(year)", data=d).fit(
                cov_type="cluster", cov_kwds={"groups": pd.factorize(d["iso3"])[0]}
            )
            sm_out[sid] = (float(fit.params[des.focal]), float(fit.bse[des.focal]))
        t_sm = (time.perf_counter() - t0) / max(len(sub_sm), 1)

    # CRV3 (cluster jackknife): engine (exact leave-one-country-out downdates) vs pyfixest (one refit per country)
    t0 = time.perf_counter()
    res3 = S.run_specs(panel, grid, se="CRV3", progress=False, sample_mode="own")
    t_engine3 = time.perf_counter() - t0
    sub_3 = sub_pf[: min(n_crv3, len(sub_pf))]
    crv3_out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        for sid in sub_3:
            des = designs[sid]
            m = pf.feols(
                f"{des.y} ~ {' + '.join(des.regressors)} | iso3 + year",
                data=des.data,
                vcov={"CRV3": "iso3"},
                ssc=pf.ssc(k_adj=False, G_adj=False),
                fixef_rm="none",
                demeaner=fe.pyfixest_demeaner(),
            )
            crv3_out[sid] = float(m.tidy().loc[des.focal, "Std. Error"])
        t_pf3 = (time.perf_counter() - t0) / max(len(sub_3), 1)
    eng3 = res3.set_index("spec_id")
    d_pf3_se = max((abs(eng3.loc[s, "std_error"] / crv3_out[s] - 1) for s in sub_3), default=float("nan"))

    eng = res.set_index("spec_id")
    d_pf_b = max(abs(eng.loc[s, "estimate"] - pf_out[s][0]) for s in sub_pf)
    d_pf_se = max(abs(eng.loc[s, "std_error"] / pf_out[s][1] - 1) for s in sub_pf)
    d_sm_b = max(abs(eng.loc[s, "estimate"] - sm_out[s][0]) for s in sub_sm)
    per_engine = t_engine / len(grid)
    out = {
        "source": source,
        "n_specs": len(grid),
        "n_estimated": n_est,
        "engine_seconds": t_engine,
        "engine_specs_per_second": len(grid) / t_engine,
        "pyfixest_specs_per_second": 1 / t_pf,
        "statsmodels_specs_per_second": 1 / t_sm,
        "speedup_vs_pyfixest": t_pf / per_engine,
        "speedup_vs_statsmodels": t_sm / per_engine,
        "max_abs_coef_diff_pyfixest": d_pf_b,
        "max_rel_se_diff_pyfixest": d_pf_se,
        "max_abs_coef_diff_statsmodels": d_sm_b,
        "n_pyfixest": len(sub_pf),
        "n_statsmodels": len(sub_sm),
        "engine_crv3_seconds": t_engine3,
        "engine_crv3_specs_per_second": len(grid) / t_engine3,
        "pyfixest_crv3_specs_per_second": 1 / t_pf3 if sub_3.size else float("nan"),
        "speedup_crv3_vs_pyfixest": t_pf3 / (t_engine3 / len(grid)) if sub_3.size else float("nan"),
        "max_rel_se_diff_pyfixest_crv3": d_pf3_se,
        "n_pyfixest_crv3": len(sub_3),
    }
    say(
        f"project engine : {len(grid)} specs ({n_est} estimated, {len(grid) - n_est} skipped with reasons) in "
        f"{t_engine:.2f} s = {out['engine_specs_per_second']:,.0f} specs/s (CRV1 clustered by country)"
    )
    say(
        f"pyfixest.feols : {out['pyfixest_specs_per_second']:,.1f} specs/s (loop over {len(sub_pf)} random specs, "
        f"extrapolated per spec; model frames prebuilt, only feols timed) -> {len(grid) * t_pf:.1f} s for all"
    )
    say(
        f"statsmodels OLS with country+year dummies, cluster: {out['statsmodels_specs_per_second']:,.2f} specs/s "
        f"(loop over {len(sub_sm)} specs, extrapolated) -> {len(grid) * t_sm:.0f} s for all"
    )
    say(
        f"ratio engine/pyfixest per spec: {out['speedup_vs_pyfixest']:,.0f}x ; engine/statsmodels: "
        f"{out['speedup_vs_statsmodels']:,.0f}x"
    )
    say(
        f"agreement: max |coef engine - pyfixest| = {d_pf_b:.1e}, max relative SE difference (CRV1) = "
        f"{d_pf_se:.1e} over {len(sub_pf)} specs; max |coef engine - statsmodels| = {d_sm_b:.1e} over "
        f"{len(sub_sm)} specs"
    )
    if sub_3.size:
        say(
            f"CRV3 (country jackknife): engine {t_engine3:.2f} s for all = {out['engine_crv3_specs_per_second']:,.0f} "
            f"specs/s (exact leave-one-country-out downdates); pyfixest (one refit per country) "
            f"{out['pyfixest_crv3_specs_per_second']:,.2f} specs/s over {len(sub_3)} specs -> ratio "
            f"{out['speedup_crv3_vs_pyfixest']:,.0f}x; max relative SE difference {d_pf3_se:.1e}"
        )
    target = t_engine < 3 and out["speedup_vs_pyfixest"] >= 20 and d_pf_b < 1e-8 and d_sm_b < 1e-8
    say(
        f"targets (>= 1,000 specs < 3 s, >= 20x pyfixest, coefficients within 1e-8): "
        f"{'met' if target and len(grid) >= 1000 else 'NOT met'}"
    )
    out["targets_met"] = bool(target and len(grid) >= 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m helpers.bench [--synthetic] [--n-pyfixest N] [--n-statsmodels N]``.

    ``argv=None`` means no options (so that ``python -m helpers bench`` can call ``main()``); returns 0 when the
    targets are met, 1 otherwise.
    """
    ap = argparse.ArgumentParser(prog="helpers.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--synthetic", action="store_true", help="use the synthetic panel even if the real one exists"
    )
    ap.add_argument(
        "--n-pyfixest", type=int, default=40, help="specifications in the pyfixest loop (default 40)"
    )
    ap.add_argument(
        "--n-statsmodels", type=int, default=8, help="specifications in the statsmodels loop (default 8)"
    )
    ap.add_argument(
        "--n-crv3", type=int, default=2, help="specifications in the pyfixest CRV3 loop (default 2)"
    )
    a = ap.parse_args([] if argv is None else argv)
    out = run_benchmark(
        n_pyfixest=a.n_pyfixest, n_statsmodels=a.n_statsmodels, synthetic=a.synthetic, n_crv3=a.n_crv3
    )
    return 0 if out["targets_met"] else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
