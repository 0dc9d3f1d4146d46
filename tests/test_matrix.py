"""The treaty-effects matrix (helpers.estimate.matrix) and the Dask engine (helpers.core.engine), on synthetic
panels with a known effect; multiplicity adjustments against statsmodels and a hand-computed example."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers.core import engine
from helpers.core.errors import ParameterError
from helpers.estimate import did, matrix

EFFECT = 1.0


def synthetic_panel(n_units: int = 40, seed: int = 3) -> pd.DataFrame:
    """Units AAA.. observed 1990-2010; cedaw adopted in 1995-2003 by 3/4 of them (effect EFFECT on y, none on z),
    cat adopted by only 3 units (too few treated)."""
    rng = np.random.default_rng(seed)
    years = np.arange(1990, 2011)
    rows = []
    for i in range(n_units):
        iso = f"U{i:02d}"
        g = 1995 + (i % 9) if i % 4 else np.nan
        gc = 2000.0 if i < 3 else np.nan
        a = rng.normal()
        for t in years:
            treated = np.isfinite(g) and t >= g
            rows.append(
                {
                    "iso3": iso,
                    "year": int(t),
                    "sovereign": 1,
                    "cedaw_year": g,
                    "cat_year": gc,
                    "y": a + 0.05 * (t - 1990) + EFFECT * treated + rng.normal(scale=0.3),
                    "z": a + 0.05 * (t - 1990) + rng.normal(scale=0.3),
                }
            )
    return pd.DataFrame(rows)


SETTINGS = matrix.MatrixSettings(years=(1990, 2010), min_controls=2, event_window=(-4, 6), n_boot=199, seed=7)
PAIRS = [("cedaw", "y"), ("cedaw", "z"), ("cat", "y")]


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(scope="module")
def table(panel):
    return matrix.run_matrix(panel, SETTINGS, pairs=PAIRS, workers=1, progress=False)[0]


def test_cells_recover_the_known_effect(table):
    y = table[(table["instrument"] == "cedaw") & (table["outcome"] == "y")].set_index("estimator")
    assert list(y.index) == list(matrix.ESTIMATORS)
    assert (y["status"] == "ok").all()
    # every estimator recovers the homogeneous effect of 1 within 0.15
    assert np.allclose(y["estimate"], EFFECT, atol=0.15), y["estimate"]
    assert (y["p_value"] < 1e-6).all() and (y["q_bh"] < 1e-4).all()
    assert y["n_treated"].iloc[0] == 30 and y["n_never"].iloc[0] == 10
    assert (y["estimate_sd"] - y["estimate"] / y["sd_outcome"]).abs().max() < 1e-12
    z = table[(table["instrument"] == "cedaw") & (table["outcome"] == "z")]
    assert (z["estimate"].abs() < 0.15).all()
    assert z["p_rw"].notna().sum() == 2  # TWFE and Callaway-Sant'Anna carry Romano-Wolf p-values
    assert (z.loc[z["p_rw"].notna(), "p_rw"] > 0.05).all()


def test_failed_cell_is_a_row_with_a_reason(table):
    cat = table[table["instrument"] == "cat"]
    assert len(cat) == 4 and (cat["status"] == "failed").all()
    assert cat["reason"].str.contains("too few treated units").all()
    assert cat["q_bh"].isna().all() and cat["estimate"].isna().all()


def test_empty_sample_is_a_row(panel):
    s = matrix.MatrixSettings(years=(2030, 2040))
    r = matrix.estimate_cell(panel, "cedaw", "y", s, sorted(panel["iso3"].unique())).rows
    assert (r["status"] == "failed").all() and r["reason"].str.startswith("sample:").all()


def test_twfe_influence_matches_pyfixest(panel):
    p = matrix._sample(panel, "cedaw", "y", SETTINGS)
    beta, IF, units = matrix.twfe_influence(p)
    ref = did.twfe(p)
    assert beta == pytest.approx(float(ref["estimate"].iloc[0]), rel=1e-8)
    G = len(units)
    # CR0 from the influence function times the cluster factor G/(G-1) is fixest's CRV1 up to (N-1)/(N-K)
    se = np.sqrt((IF**2).sum() * G / (G - 1))
    assert se == pytest.approx(float(ref["std_error"].iloc[0]), rel=0.03)
    assert list(units) == sorted(units)


def test_cs_influence_gives_the_analytic_se(panel):
    p = matrix._sample(panel, "cedaw", "y", SETTINGS)
    cs = did.callaway_santanna(p, n_boot=0, min_controls=2)
    est, IF = matrix.cs_influence(cs)
    ref = cs.aggregate("simple").tail(1)
    assert est == pytest.approx(float(ref["estimate"].iloc[0]), rel=1e-10)
    assert np.sqrt((IF**2).sum()) == pytest.approx(float(ref["std_error"].iloc[0]), rel=1e-8)


def test_bh_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.01, size=10)])
    assert np.allclose(matrix.bh_qvalues(p), multipletests(p, method="fdr_bh")[1])
    with_nan = np.array([0.01, np.nan, 0.04, 0.03])
    q = matrix.bh_qvalues(with_nan)
    assert np.isnan(q[1])
    assert np.allclose(q[[0, 2, 3]], multipletests(with_nan[[0, 2, 3]], method="fdr_bh")[1])


def test_romano_wolf_hand_example():
    # three hypotheses, |t| = 3, 1, 2; four bootstrap draws of |t*| per hypothesis
    t = np.array([3.0, -1.0, 2.0])
    tb = np.array([[0.5, 1.5, 2.5], [3.5, 0.2, 0.1], [0.3, 0.4, 1.0], [1.2, 2.2, 0.0]])
    # step 1 (H1, |t|=3): max over all = 2.5, 3.5, 1.0, 2.2 -> 1 draw >= 3 -> (1+1)/5 = 0.4
    # step 2 (H3, |t|=2): max over {H3, H2} = 2.5, 0.2, 1.0, 2.2 -> 2 draws >= 2 -> 3/5 = 0.6
    # step 3 (H2, |t|=1): max over {H2} = 1.5, 0.2, 0.4, 2.2 -> 2 draws >= 1 -> 3/5 = 0.6 (monotone: >= 0.6)
    assert np.allclose(matrix.romano_wolf(t, tb), [0.4, 0.6, 0.6])


def test_romano_wolf_controls_familywise_error():
    # 20 independent true nulls: the share of runs with any RW rejection at 5% stays near 5% (BH per-test is
    # no FWER control); 200 replications, each with 499 draws
    rng = np.random.default_rng(0)
    reject = 0
    for _ in range(200):
        t = rng.normal(size=20)
        tb = rng.normal(size=(499, 20))
        reject += bool((matrix.romano_wolf(t, tb) < 0.05).any())
    assert reject / 200 < 0.10


def test_country_weights_shared_and_seeded():
    c = ["AAA", "BBB", "CCC"]
    w1, w2 = matrix.country_weights(c, 50, 3), matrix.country_weights(c, 50, 3)
    assert np.array_equal(w1, w2) and set(np.unique(w1)) == {-1.0, 1.0}
    assert not np.array_equal(w1, matrix.country_weights(c, 50, 4))
    assert matrix.task_seed(1, "a", 2) == matrix.task_seed(1, "a", 2) != matrix.task_seed(1, "a", 3)


def _synthetic_table() -> pd.DataFrame:
    rows = []
    spec = {  # (instrument, outcome) -> estimates per estimator, q-values, flag
        ("cedaw", "wopol"): ([0.3, 0.25, 0.4, 0.35], [0.001, 0.01, 0.001, 0.002], ""),
        ("cedaw", "wecon"): ([0.1, -0.05, 0.2, 0.1], [0.2, 0.5, 0.04, 0.3], ""),
        ("cat", "physint"): ([0.2, 0.3, 0.25, 0.2], [0.01, 0.01, 0.02, 0.03], "pre-trend"),
    }
    for (k, o), (est, q, flag) in spec.items():
        for e, b, qq in zip(matrix.ESTIMATORS, est, q, strict=True):
            rows.append(
                {
                    "instrument": k,
                    "outcome": o,
                    "estimator": e,
                    "estimate": b,
                    "estimate_sd": b / 0.5,
                    "q_bh": qq,
                    "p_rw": qq if e in matrix.RW_ESTIMATORS else np.nan,
                    "flag": flag,
                    "status": "ok",
                    "reason": "",
                }
            )
    rows += [
        {
            "instrument": "crc",
            "outcome": "sh_sta_mmr",
            "estimator": e,
            "status": "failed",
            "reason": "too few x",
        }
        for e in matrix.ESTIMATORS
    ]
    return pd.DataFrame(rows)


def test_sentences_from_a_synthetic_table():
    un = pd.DataFrame({"instrument": ["cmw"], "reason": ["none"]})
    s = matrix.sentences(_synthetic_table(), un)
    text = "\n".join(s)
    assert s[0].startswith("The matrix has 4 instrument-outcome cells over 3 instruments")
    assert "3 could be estimated and 1 could not (1 too few x)" in s[0]
    assert "No outcome in the panel is mapped to 1 instrument: CMW." in text
    # only CEDAW x wopol holds everywhere (CAT x physint fails its pre-trend test, wecon flips sign)
    assert "1 cell holds across all four estimators" in text and "+0.50 SD" in text
    assert "disagree on the sign of the effect in 1 of 3 cells" in text
    assert "1 cell fails the pre-trend test" in text
    assert "TWFE (static): 2 of 3 cells stay significant" in text
    assert "CEDAW: of 2 outcomes, 1 rises and 0 fall under every estimator; 1 is significant" in text


def test_engine_serial_runs_in_order():
    out = engine.map_tasks(_square, [3, 1, 2], shared=10, workers=1, progress=False)
    assert out == [19, 11, 14]


def _square(shared, x):
    return shared + x * x


def test_engine_rejects_bad_settings(monkeypatch):
    with pytest.raises(ParameterError, match="workers"):
        engine.check_workers(-1)
    with pytest.raises(ParameterError, match="scheduler"):
        engine.scheduler_address("localhost:8786")
    monkeypatch.setenv(engine.SCHEDULER_ENV, "tcp://10.0.0.1:8786")
    assert engine.scheduler_address() == "tcp://10.0.0.1:8786"
    assert engine.scheduler_address("tcp://h:1") == "tcp://h:1"


@pytest.mark.slow
def test_two_workers_give_identical_bytes(panel, table, tmp_path):
    """A 2-worker LocalCluster writes the same CSV bytes as the serial (synchronous) path."""
    two, _ = matrix.run_matrix(panel, SETTINGS, pairs=PAIRS, workers=2, progress=False)
    a, b = tmp_path / "serial.csv", tmp_path / "two.csv"
    table.to_csv(a, index=False, float_format=matrix.CSV_FLOAT_FORMAT)
    two.to_csv(b, index=False, float_format=matrix.CSV_FLOAT_FORMAT)
    assert a.read_bytes() == b.read_bytes()
    # and in memory everything agrees to 1e-12 (relative), most of it to the last bit
    num = table.select_dtypes("number").columns
    np.testing.assert_allclose(
        two[num].to_numpy(float), table[num].to_numpy(float), rtol=1e-12, equal_nan=True
    )


def test_imputation_overall_only_matches_the_full_fit(panel):
    p = matrix._sample(panel, "cedaw", "y", SETTINGS)
    full = did.imputation(p).attrs["overall"]
    only = did.imputation(p, event_study=False)
    assert len(only) == 1
    pd.testing.assert_frame_equal(only.attrs["overall"], full)


def test_local_tasks_ignore_the_scheduler_variable(monkeypatch):
    # notebook runs must stay on this machine even when the matrix is pointed at a cluster
    monkeypatch.setenv(engine.SCHEDULER_ENV, "tcp://127.0.0.1:9")  # nothing listens there
    out = engine.map_tasks(_square, [2], shared=1, workers=1, progress=False, local=True)
    assert out == [5]


def test_notebook_findings_lead_with_the_robust_count_and_the_pre_trend_failures(tmp_path):
    from helpers.report import findings

    un = pd.DataFrame({"instrument": ["cmw"], "reason": ["none"]})
    f = findings.treaty_matrix(_synthetic_table(), un)
    assert len(f.sentences) <= 6 and f.notebook == "08_treaty_matrix"
    assert any("fails the pre-trend test" in s for s in f.sentences)
    assert any(s.startswith("Callaway-Sant'Anna (simple): 2 of 3 cells") for s in f.sentences)
    assert f.numbers["cells"] == 4 and f.numbers["cells_estimated"] == 3
    assert f.numbers["significant_rw"] == {"callaway_santanna": 2, "twfe": 2}
    assert f.write(tmp_path, "default").is_file()


def _string_hash(_shared, text):
    return hash(text)


@pytest.mark.slow
def test_kernels_and_dask_workers_share_one_string_hash_seed():
    """pyfixest's TWFE standard errors move in the 6th digit with Python's string-hash seed, and Dask's nanny gives
    its workers PYTHONHASHSEED=6640 whatever the parent says (it overrides 0). Kernels (runner.THREAD_ENV) and the
    serial engine must use that seed too, or a matrix computed in a notebook's kernel differs from one computed on
    a LocalCluster. Checked on hash values: a process started with the kernel's environment hashes like a worker."""
    from helpers.pipeline import runner

    assert runner.THREAD_ENV["PYTHONHASHSEED"] == engine.WORKER_ENV["PYTHONHASHSEED"]
    code = "print(hash('treaty-effects'))"
    env = {**os.environ, **runner.THREAD_ENV}
    kernel_like = int(
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout
    )
    worker = engine.map_tasks(_string_hash, ["treaty-effects", "x"], workers=2, progress=False, local=True)[0]
    assert worker == kernel_like
    other = {**env, "PYTHONHASHSEED": "0"}  # the seed used before: not what workers get
    assert (
        int(subprocess.run([sys.executable, "-c", code], env=other, capture_output=True, text=True).stdout)
        != worker
    )


def _profiler_setting(_item, shared=None):
    import dask

    return dask.config.get("distributed.worker.profile.enabled")


def test_local_cluster_workers_run_without_the_statistical_profiler():
    """The engine's LocalCluster turns Dask's 10 ms stack sampler off in its workers (a tenth of a core per idle
    worker on this machine); the setting reaches the worker processes, and the caller's configuration is as before."""
    import dask

    before = dask.config.get("distributed.worker.profile.enabled")
    with engine.cluster(workers=2, quiet=True, local=True) as client:
        assert client.run(lambda: _profiler_setting(None)) and set(
            client.run(lambda: _profiler_setting(None)).values()
        ) == {False}
    assert dask.config.get("distributed.worker.profile.enabled") == before
