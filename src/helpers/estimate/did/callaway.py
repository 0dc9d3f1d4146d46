"""Callaway-Sant'Anna group-time ATTs with not-yet-treated or never-treated controls, aggregations and the
multiplier bootstrap; follows the R package ``did`` 2.x and reproduces its published ``mpdta`` values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.errors import DataError, EmptySampleError, ParameterError
from helpers.core.params import check_choice
from helpers.estimate.did.cohorts import StaggeredPanel
from helpers.estimate.did.common import tidy_from_arrays

CONTROL_GROUPS = ("notyettreated", "nevertreated")


class SkippedCells(tuple):
    """The skipped group-time cells of :func:`callaway_santanna` (``att_gt.attrs['skipped']``): an immutable tuple
    that is its own deep copy. pandas deep-copies ``attrs`` on every operation that returns a new frame or column;
    a plain list of tuples there cost a quarter of the treaty matrix's run time."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict) -> SkippedCells:
        return self


BASE_PERIODS = ("varying", "universal")


AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


BOOT_WEIGHTS = ("rademacher", "mammen")

#: Estimators of one group-time cell, as R ``did``'s ``est_method``: outcome regression (``DRDID::reg_did_panel``),
#: inverse probability weighting (``std_ipw_did_panel``) and doubly robust (``drdid_panel``, R's default).
#: Without covariates all three give the same ATT(g,t).
EST_METHODS = ("dr", "ipw", "reg")


@dataclass
class CSResult:
    """Group-time ATTs with their influence functions; aggregate with :meth:`aggregate`.

    ``att_gt``: one row per (group, time) with base period, counts and analytic/bootstrap inference.
    ``inf``: n_units x n_gt influence-function matrix (R ``did`` scaling: column mean zero, ``V = IF'IF/n``).
    """

    att_gt: pd.DataFrame
    inf: np.ndarray
    unit_g: np.ndarray
    settings: dict
    boot_v: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.inf.shape[0]

    def _infer(self, est: np.ndarray, IF: np.ndarray) -> dict[str, np.ndarray]:
        """Analytic and multiplier-bootstrap SEs plus the sup-t critical value for a set of parameters."""
        n = self.n
        se_an = np.sqrt((IF**2).sum(axis=0) / n**2)
        out = {"se_analytic": se_an}
        if self.boot_v is not None:
            bres = np.sqrt(n) * (self.boot_v @ IF) / n  # B x k, as R did::mboot
            q75 = np.quantile(bres, 0.75, axis=0, method="inverted_cdf")
            q25 = np.quantile(bres, 0.25, axis=0, method="inverted_cdf")
            bsig = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
            tiny = bsig <= np.sqrt(np.finfo(float).eps) * 10
            bsig = np.where(tiny, np.nan, bsig)
            with np.errstate(invalid="ignore", divide="ignore"):
                bT = (
                    np.nanmax(np.abs(bres / bsig), axis=1)
                    if np.isfinite(bsig).any()
                    else np.full(len(bres), np.nan)
                )
            crit = float(np.quantile(bT, 1 - self.settings["alpha"], method="inverted_cdf"))
            out["se_boot"] = bsig / np.sqrt(n)
            out["crit_uniform"] = crit
        return out

    def _tidy(self, terms, est, IF, extra: dict | None = None) -> pd.DataFrame:
        alpha = self.settings["alpha"]
        inf = self._infer(np.asarray(est), IF)
        use_boot = self.boot_v is not None
        se = inf["se_boot"] if use_boot else inf["se_analytic"]
        out = tidy_from_arrays(terms, est, se, self.settings["n_obs"], self.n, alpha)
        out["se_analytic"] = inf["se_analytic"]
        if use_boot:
            crit = inf["crit_uniform"]
            out["conf_low_uniform"] = out["estimate"] - crit * out["std_error"]
            out["conf_high_uniform"] = out["estimate"] + crit * out["std_error"]
            out["crit_uniform"] = crit
            out["se_type"] = (
                f"multiplier bootstrap ({self.settings['boot_weights']}, B={self.settings['n_boot']}, "
                f"seed={self.settings['seed']}); conf_*: pointwise; conf_*_uniform: simultaneous "
                f"(sup-t) band over the rows of this table"
            )
        else:
            out["se_type"] = "analytic (influence function); pointwise intervals only"
        for k, v in (extra or {}).items():
            out.insert(1, k, v)
        out["estimator"] = "callaway_santanna"
        for k in ("control_group", "base_period", "anticipation"):
            out[k] = self.settings[k]
        return out

    def group_time(self) -> pd.DataFrame:
        """Tidy ATT(g,t) table (with uniform band over all group-time cells)."""
        a = self.att_gt
        est = a["att"].to_numpy()
        t = self._tidy(
            [f"ATT({int(g)},{int(tt)})" for g, tt in zip(a["group"], a["time"], strict=True)],
            est,
            self.inf,
            {
                "event_time": (a["time"] - a["group"]).to_numpy().astype(int),
                "time": a["time"].to_numpy(),
                "group": a["group"].to_numpy(),
            },
        )
        t.loc[
            a["is_reference"].to_numpy(), ["std_error", "statistic", "p_value", "conf_low", "conf_high"]
        ] = np.nan
        return t

    def _wif(self, keepers: np.ndarray, pg: np.ndarray, group: np.ndarray) -> np.ndarray:
        """R did's ``wif``: influence of estimating the group-share weights (n x len(keepers))."""
        G = self.unit_g
        ind = np.column_stack([(group[k] == G).astype(float) - pg[k] for k in keepers])
        s = pg[keepers].sum()
        if1 = ind / s
        if2 = ind.sum(axis=1, keepdims=True) @ (pg[keepers] / s**2)[None, :]
        return if1 - if2

    def weighted_att(
        self, keepers: np.ndarray, pg: np.ndarray, group: np.ndarray, with_wif: bool = True
    ) -> tuple[float, np.ndarray]:
        """Group-share weighted average of the ATT(g,t) cells ``keepers`` (indices into ``att_gt``) and its
        influence function (n,), with the weight-estimation term (R did's ``wif``) unless ``with_wif=False``.

        ``pg``: each cell's group share (share of units in its cohort); ``group``: each cell's cohort.
        """
        att = self.att_gt["att"].to_numpy()
        w = pg[keepers] / pg[keepers].sum()
        est = float((att[keepers] * w).sum())
        IF = self.inf[:, keepers] @ w
        if with_wif:
            IF = IF + self._wif(keepers, pg, group) @ att[keepers]
        return est, IF

    def aggregate(
        self,
        type: Literal["simple", "group", "dynamic", "calendar"] = "dynamic",
        min_e: float = -np.inf,
        max_e: float = np.inf,
    ) -> pd.DataFrame:
        """Aggregate ATT(g,t) as R ``did::aggte`` (simple, group, dynamic, calendar).

        Returns the per-level rows plus an ``overall`` row (R's overall summary: group-size weighted average
        for simple; average of group ATTs weighted by group size for group; mean of e >= 0 for dynamic; mean
        over periods for calendar). Standard errors include the weight-estimation term (R's ``wif``).
        Uniform bands cover the per-level rows jointly (not the overall row).
        """
        check_choice("type", type, AGGREGATIONS)
        a = self.att_gt
        group, tt = a["group"].to_numpy(), a["time"].to_numpy()
        glist = np.sort(np.unique(group))
        pgg = np.array([np.mean(self.unit_g == g) for g in glist])
        pg = pgg[np.searchsorted(glist, group)]
        e = (tt - group).astype(int)
        post = (group <= tt) & (e <= max_e)
        if type == "simple":
            est, IF = self.weighted_att(np.flatnonzero(post), pg, group)
            return self._tidy(["simple"], [est], IF[:, None], {"level": ["overall"]})
        if type == "group":
            levels = ((g, post & (group == g)) for g in glist)
            att_g, IF_g, key = self._levels(levels, pg, group, with_wif=False)
            overall, IF_o = self._group_overall(att_g, IF_g, key, pgg[np.searchsorted(glist, key)])
        elif type == "dynamic":
            es = np.sort(np.unique(e[(e <= max_e) & (e >= min_e)]))
            att_g, IF_g, key = self._levels(((ev, e == ev) for ev in es), pg, group)
            pos = key >= 0
            overall = float(att_g[pos].mean())
            IF_o = IF_g[:, pos].mean(axis=1)
        else:  # calendar
            periods = np.sort(np.unique(tt[tt >= glist.min()]))
            levels = ((t1, (tt == t1) & (group <= tt) & (e <= max_e)) for t1 in periods)
            att_g, IF_g, key = self._levels(levels, pg, group)
            overall = float(att_g.mean())
            IF_o = IF_g.mean(axis=1)
        return self._aggregation_table(type, att_g, IF_g, key, overall, IF_o)

    def _levels(self, levels, pg: np.ndarray, group: np.ndarray, with_wif: bool = True):
        """Estimates (k,), influence functions (n x k) and keys (k,) of :meth:`weighted_att` over the cells of each
        ``(key, cell mask)`` in ``levels``; levels without a cell are left out."""
        rows, IFs, keys = [], [], []
        for key, mask in levels:
            k = np.flatnonzero(mask)
            if len(k) == 0:
                continue
            est, IF = self.weighted_att(k, pg, group, with_wif=with_wif)
            rows.append(est)
            IFs.append(IF)
            keys.append(key)
        return np.array(rows), np.column_stack(IFs), np.array(keys)

    def _group_overall(
        self, att_g: np.ndarray, IF_g: np.ndarray, gl: np.ndarray, pg_sel: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Average of the group ATTs weighted by group size, with the weight-estimation term (R's ``wif``)."""
        w = pg_sel / pg_sel.sum()
        overall = float((att_g * w).sum())
        G = self.unit_g
        ind = np.column_stack([(g == G).astype(float) - p for g, p in zip(gl, pg_sel, strict=True)])
        s = pg_sel.sum()
        wif = ind / s - ind.sum(axis=1, keepdims=True) @ (pg_sel / s**2)[None, :]
        return overall, IF_g @ w + wif @ att_g

    def _aggregation_table(
        self,
        type: str,
        att_g: np.ndarray,
        IF_g: np.ndarray,
        key: np.ndarray,
        overall: float,
        IF_o: np.ndarray,
    ) -> pd.DataFrame:
        """Tidy rows of one aggregation (uniform band over them) plus its ``overall`` row (pointwise only)."""
        lvl = {"group": "group", "dynamic": "event_time", "calendar": "time"}[type]
        labels = [f"{lvl}::{int(k)}" for k in key]
        body = self._tidy(labels, att_g, IF_g, {lvl: key.astype(int)})
        if type == "dynamic":
            refmask = body["std_error"].isna() | (body["se_analytic"] < 1e-12)
            body.loc[refmask, ["std_error", "statistic", "p_value", "conf_low", "conf_high"]] = np.nan
            if "conf_low_uniform" in body:
                body.loc[refmask, ["conf_low_uniform", "conf_high_uniform"]] = np.nan
        ov = self._tidy([f"{type}_average"], [overall], IF_o[:, None], {lvl: [pd.NA]})
        for c in ("conf_low_uniform", "conf_high_uniform", "crit_uniform"):
            if c in ov:
                ov[c] = np.nan
        out = pd.concat([body, ov], ignore_index=True)
        out.insert(1, "aggregation", type)
        out[lvl] = out[lvl].astype("Int64")
        return out


def mboot_weights(n: int, B: int, seed: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(B, n))
    s5 = np.sqrt(5.0)
    p = (s5 + 1) / (2 * s5)
    return np.where(rng.random((B, n)) < p, (1 - s5) / 2, (1 + s5) / 2)


def _check_cs_options(
    p: StaggeredPanel, control_group: str, base_period: str, n_boot: int, boot_weights: str
) -> None:
    check_choice("control_group", control_group, CONTROL_GROUPS)
    check_choice("base_period", base_period, BASE_PERIODS)
    check_choice("boot_weights", boot_weights, BOOT_WEIGHTS)
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ParameterError("n_boot", n_boot, hint="a non-negative integer (0 = analytic SEs only)")
    if control_group == "nevertreated" and p.n_never == 0:
        raise ParameterError(
            "control_group",
            control_group,
            CONTROL_GROUPS,
            hint="the sample has no never-treated units; use 'notyettreated'",
        )


def _estimate_cell(yt, yb, treat, ctrl, covs, est_method: str, allow_unbalanced: bool):
    """ATT and influence function of one cell with the chosen estimator; None when an unbalanced cell has no treated
    or no control unit observed in one of its periods."""
    if allow_unbalanced:
        for y in (yt, yb):
            if not ((treat & ~np.isnan(y)).any() and (ctrl & ~np.isnan(y)).any()):
                return None
        return _unbalanced_cell(yt, yb, treat, ctrl)
    if est_method == "reg" or not covs:
        return _or_did_cell(yt - yb, treat, ctrl, covs)
    return _weighted_did_cell(yt - yb, treat, ctrl, covs, est_method)


def _check_balance(p: StaggeredPanel, allow_unbalanced: bool) -> None:
    gaps = int(p.wide("y").isna().to_numpy().sum())
    if allow_unbalanced and p.covariates:
        raise ParameterError(
            "allow_unbalanced", True, [False], hint="the unbalanced-panel estimator takes no covariates"
        )
    if gaps and not allow_unbalanced:
        raise DataError(
            f"the panel is unbalanced ({gaps} missing unit-periods); prepare it with balance=True or pass "
            f"allow_unbalanced=True"
        )


def _base_index(ti: int, t, g, gbase: int, base_period: str, delta: int) -> int | None:
    """Index of the base period of cell (g, t): t-1 for a pre-period under a varying base (None for the first
    period, which has none), else g-1-anticipation (``gbase``)."""
    if base_period == "varying" and t + delta < g:
        return None if ti == 0 else ti - 1
    return gbase


def _controls(G: np.ndarray, g, horizon, control_group: str) -> np.ndarray:
    """Control units of cohort ``g``: never treated, plus (not-yet-treated) units first treated after
    ``horizon`` = max(t, base) + anticipation."""
    if control_group == "nevertreated":
        return np.isinf(G)
    return np.isinf(G) | ((horizon < G) & (g != G))


def _cell_row(g, t, tb, att: float, treat: np.ndarray, ctrl: np.ndarray, is_reference: bool) -> dict:
    return {
        "group": g,
        "time": t,
        "base": tb,
        "att": att,
        "n_treated": int(treat.sum()),
        "n_control": int(ctrl.sum()),
        "is_reference": is_reference,
    }


def _or_did_cell(
    dy_all: np.ndarray, treat: np.ndarray, ctrl: np.ndarray, covs: list[np.ndarray]
) -> tuple[float, np.ndarray]:
    """Outcome-regression DiD of one group-time cell (R ``DRDID::reg_did_panel``): the ATT and its influence
    function over all n units (zero outside the cell's treated and control units).

    ``dy_all``: each unit's outcome change from the base period; ``covs``: base-period covariate columns."""
    if not covs:
        return _mean_did_cell(dy_all, treat, ctrl)
    n = len(dy_all)
    sub = treat | ctrl
    dy = dy_all[sub]
    D = treat[sub].astype(float)
    X = np.column_stack([np.ones(sub.sum())] + [x[sub] for x in covs])
    n1 = int(sub.sum())
    Xc, yc = X[D == 0], dy[D == 0]
    beta, *_ = np.linalg.lstsq(Xc, yc, rcond=None)
    out_delta = X @ beta
    mD = D.mean()
    eta_t = np.mean(D * dy) / mD
    eta_c = np.mean(D * out_delta) / mD
    att = eta_t - eta_c
    wols_x = (1 - D)[:, None] * X
    wols_ex = ((1 - D) * (dy - out_delta))[:, None] * X
    XpX_inv = np.linalg.pinv(wols_x.T @ X / n1)
    alr = wols_ex @ XpX_inv
    inf_t = (D * dy - D * eta_t) / mD
    inf_c1 = D * out_delta - D * eta_c
    M1 = (D[:, None] * X).mean(axis=0)
    inf_c = (inf_c1 + alr @ M1) / mD
    IF = np.zeros(n)
    IF[sub] = (n / n1) * (inf_t - inf_c)
    return att, IF


def _mean_did_cell(dy_all: np.ndarray, treat: np.ndarray, ctrl: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`_or_did_cell` without covariates in closed form (the regression on a constant is the control
    mean): ATT = mean change of the treated - mean change of the controls, influence function
    n/n1 * (D (dy - eta_t) / mD - (1 - D) (dy - eta_c) / (1 - mD)). Equal to the general path up to rounding
    (tests/test_did.py) and about ten times faster, which matters in the matrix's tens of thousands of cells."""
    n = len(dy_all)
    sub = treat | ctrl
    dy = dy_all[sub]
    D = treat[sub]
    n1 = len(dy)
    mD = D.sum() / n1
    eta_t, eta_c = dy[D].mean(), dy[~D].mean()
    IF = np.zeros(n)
    IF[sub] = (n / n1) * np.where(D, (dy - eta_t) / mD, -(dy - eta_c) / (1 - mD))
    return float(eta_t - eta_c), IF


def _logit(D: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit propensity score by Newton-Raphson (R ``glm(family = binomial)``): fitted probabilities (capped at
    1 - 1e-6, as DRDID) and the inverse information matrix times n (R ``vcov(glm) * n``)."""
    n, k = X.shape
    beta = np.zeros(k)
    for _ in range(100):
        eta = np.clip(X @ beta, -35, 35)
        p = 1 / (1 + np.exp(-eta))
        W = p * (1 - p)
        H = X.T @ (W[:, None] * X)
        step = np.linalg.solve(H, X.T @ (D - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = 1 / (1 + np.exp(-np.clip(X @ beta, -35, 35)))
    H = X.T @ ((p * (1 - p))[:, None] * X)
    return np.minimum(p, 1 - 1e-6), np.linalg.inv(H) * n


def _weighted_did_cell(
    dy_all: np.ndarray, treat: np.ndarray, ctrl: np.ndarray, covs: list[np.ndarray], method: str
) -> tuple[float, np.ndarray]:
    """Doubly robust (R ``DRDID::drdid_panel``, locally efficient with a logit propensity score) or standardised
    IPW (``DRDID::std_ipw_did_panel``) DiD of one group-time cell: the ATT and its influence function over all n
    units (zero outside the cell's treated and control units)."""
    n = len(dy_all)
    sub = treat | ctrl
    dy = dy_all[sub]
    D = treat[sub].astype(float)
    X = np.column_stack([np.ones(sub.sum())] + [x[sub] for x in covs])
    n1 = int(sub.sum())
    ps, Hps = _logit(D, X)
    lin_ps = ((D - ps)[:, None] * X) @ Hps
    w_t, w_c = D, ps * (1 - D) / (1 - ps)
    if method == "dr":
        beta, *_ = np.linalg.lstsq(X[D == 0], dy[D == 0], rcond=None)
        out = X @ beta
    else:
        out = np.zeros(n1)
    r = dy - out
    eta_t, eta_c = np.mean(w_t * r) / np.mean(w_t), np.mean(w_c * r) / np.mean(w_c)
    inf_t = w_t * r - w_t * eta_t
    inf_c = w_c * r - w_c * eta_c + lin_ps @ np.mean((w_c * (r - eta_c))[:, None] * X, axis=0)
    if method == "dr":
        wols = (1 - D)[:, None] * X
        lin_ols = ((1 - D) * r)[:, None] * X @ np.linalg.inv(wols.T @ X / n1)
        inf_t = inf_t - lin_ols @ np.mean(w_t[:, None] * X, axis=0)
        inf_c = inf_c - lin_ols @ np.mean(w_c[:, None] * X, axis=0)
    IF = np.zeros(n)
    IF[sub] = (n / n1) * (inf_t / np.mean(w_t) - inf_c / np.mean(w_c))
    return float(eta_t - eta_c), IF


def _unbalanced_cell(
    yt: np.ndarray, yb: np.ndarray, treat: np.ndarray, ctrl: np.ndarray
) -> tuple[float, np.ndarray]:
    """DiD of one cell on an unbalanced panel (R ``did``'s ``allow_unbalanced_panel``, no covariates): the four
    period-group means over the units observed in each period, and the unit-level influence function (units
    observed in only one of the two periods contribute to that period's mean)."""
    n = len(yt)
    ot, ob = ~np.isnan(yt), ~np.isnan(yb)
    IF = np.zeros(n)
    att = 0.0
    for grp, sign in ((treat, 1.0), (ctrl, -1.0)):
        for obs, y, s2 in ((ot, yt, 1.0), (ob, yb, -1.0)):
            sel = grp & obs
            m = float(y[sel].mean())
            att += sign * s2 * m
            IF[sel] += sign * s2 * n * (y[sel] - m) / sel.sum()
    return att, IF


def callaway_santanna(
    p: StaggeredPanel,
    control_group: str = "notyettreated",
    base_period: str = "varying",
    n_boot: int = 499,
    seed: int = 20240607,
    alpha: float = 0.05,
    boot_weights: str = "rademacher",
    min_controls: int = 0,
    est_method: str = "dr",
    allow_unbalanced: bool = False,
) -> CSResult:
    """Callaway-Sant'Anna group-time ATTs (R ``did`` ``att_gt`` on a balanced panel).

    - ``control_group``: "notyettreated" (default; units with g > max(t, base) + anticipation, plus never
      treated) or "nevertreated".
    - ``base_period``: "varying" (pre-periods compare t with t-1; post-periods with g-1-anticipation) or
      "universal" (always g-1-anticipation; that cell is reported as a 0 reference).
    - anticipation is taken from the prepared panel; covariates (if any) enter as base-period values.
    - ``est_method`` (:data:`EST_METHODS`): "dr" (default, as R: doubly robust, Sant'Anna and Zhao 2020, logit
      propensity score and a linear regression of the control units' changes), "ipw" (standardised inverse
      probability weighting) or "reg" (outcome regression). Identical without covariates.
    - ``allow_unbalanced``: on a panel prepared with ``balance=False``, each cell uses every unit observed in each
      of its two periods (R ``did``'s ``allow_unbalanced_panel``; no covariates). Without it an unbalanced panel is
      an error.
    - inference: influence functions; ``n_boot > 0`` adds a multiplier bootstrap (``boot_weights``:
      "rademacher" or "mammen"), fixed ``seed``, with pointwise and simultaneous (sup-t) bands. ``n_boot=0``:
      analytic SEs only.
    - ``min_controls``: group-time cells with fewer comparison units are skipped (0: only cells without any).
    Skipped cells are listed in ``att_gt.attrs['skipped']`` as (group, time, reason, n_controls).
    """
    _check_cs_options(p, control_group, base_period, n_boot, boot_weights)
    check_choice("est_method", est_method, EST_METHODS)
    _check_balance(p, allow_unbalanced)
    Yw = p.wide("y")
    units = Yw.index
    Y = Yw.to_numpy()
    tlist = Yw.columns.to_numpy()
    G = p.unit_table().loc[units, "g"].to_numpy()
    Xw = {c: p.wide(c).loc[units].to_numpy() for c in p.covariates}
    n = len(units)
    delta = p.anticipation
    rows, IFs, skipped = [], [], []
    for g in p.cohorts:
        pre_ok = np.flatnonzero(tlist + delta < g)
        if len(pre_ok) == 0:
            skipped.append((g, None, "no pre-period", 0))
            continue
        gbase = pre_ok[-1]  # index of g-1-anticipation (last period strictly before g - anticipation)
        for ti, t in enumerate(tlist):
            bi = _base_index(ti, t, g, gbase, base_period, delta)
            if bi is None:
                continue
            tb = tlist[bi]
            treat = g == G
            ctrl = _controls(G, g, max(t, tb) + delta, control_group)
            if bi == ti:
                rows.append(_cell_row(g, t, tb, 0.0, treat, ctrl, is_reference=True))
                IFs.append(np.zeros(n))
                continue
            if ctrl.sum() == 0 or ctrl.sum() < min_controls:
                skipped.append((g, t, f"fewer than {max(min_controls, 1)} control units", int(ctrl.sum())))
                continue
            covs = [Xw[c][:, bi] for c in p.covariates]
            est = _estimate_cell(Y[:, ti], Y[:, bi], treat, ctrl, covs, est_method, allow_unbalanced)
            if est is None:
                skipped.append((g, t, "no treated or control unit observed in both periods", int(ctrl.sum())))
                continue
            att, IF = est
            rows.append(_cell_row(g, t, tb, att, treat, ctrl, is_reference=False))
            IFs.append(IF)
    if not rows:
        raise EmptySampleError(f"no estimable group-time cells ({len(skipped)} skipped: {skipped[:5]})")
    a = pd.DataFrame(rows)
    a["group"], a["time"], a["base"] = a["group"].astype(int), a["time"].astype(int), a["base"].astype(int)
    a.attrs["skipped"] = SkippedCells(skipped)
    settings = {
        "control_group": control_group,
        "base_period": base_period,
        "anticipation": delta,
        "alpha": alpha,
        "n_boot": int(n_boot),
        "seed": seed,
        "boot_weights": boot_weights,
        "n_obs": len(p.data),
        "min_controls": int(min_controls),
        "est_method": est_method,
        "allow_unbalanced": bool(allow_unbalanced),
    }
    v = mboot_weights(n, n_boot, seed, boot_weights) if n_boot > 0 else None
    res = CSResult(a, np.column_stack(IFs), G, settings, v)
    gt = res.group_time()
    for c in ("std_error", "p_value", "conf_low", "conf_high"):
        a[c] = gt[c].to_numpy()
    a["se_analytic"] = gt["se_analytic"].to_numpy()
    return res
