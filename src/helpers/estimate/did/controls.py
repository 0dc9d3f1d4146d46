"""Who the comparison units are: sovereign country-years, control units per period and per cohort-time cell,
trimming of thin cells (``min_controls``) and leave-one-control-out sensitivity for the never-treated units."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from helpers.core.errors import EmptySampleError, ParameterError
from helpers.estimate.did.cohorts import StaggeredPanel

#: Column of the project panel marking state-system members (1 in the years a country is sovereign).
SOVEREIGN_COL = "sovereign"

SOVEREIGN_RULE = (
    "sovereign_only: True keeps only country-years with sovereign = 1 (members of the state system: a territory "
    "before independence, or a never-sovereign entity such as the State of Palestine, is neither treated nor a "
    "comparison unit); False keeps every row; None (the default) means True on a panel with a 'sovereign' column "
    "and no filter on a panel without one (a user's own panel). True on a panel without the column is an error."
)

#: Default smallest number of comparison units a cohort-time cell needs (notebook 04's ``min_controls``).
MIN_CONTROLS = 10


def keep_sovereign(
    df: pd.DataFrame, sovereign_only: bool | None = None, column: str = SOVEREIGN_COL
) -> tuple[pd.DataFrame, str]:
    """Rows kept under :data:`SOVEREIGN_RULE` and a sentence saying what was dropped (units and rows)."""
    if sovereign_only is not None and not isinstance(sovereign_only, (bool, np.bool_)):
        raise ParameterError("sovereign_only", sovereign_only, [True, False, None])
    if column not in df.columns:
        if sovereign_only:
            raise ParameterError(
                "sovereign_only",
                sovereign_only,
                [False, None],
                hint=f"the panel has no {column!r} column; set sovereign_only to False (keep every row) or "
                "None (keep every row on a panel without the column)",
            )
        return df, f"no {column!r} column: every row kept"
    if sovereign_only is False:
        return df, "sovereign_only False: every row kept, including non-sovereign country-years"
    keep = pd.to_numeric(df[column], errors="coerce").fillna(0) == 1
    return df[keep], f"kept {int(keep.sum())} sovereign country-years; dropped {int((~keep).sum())} others"


def dropped_units(df: pd.DataFrame, kept: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Units with rows dropped by :func:`keep_sovereign`: unit, rows dropped, first and last period dropped."""
    gone = df.loc[~df.index.isin(kept.index)]
    if gone.empty:
        return pd.DataFrame(columns=[unit, "rows_dropped", "whole_unit"])
    out = gone.groupby(unit).size().rename("rows_dropped").reset_index()
    out["whole_unit"] = ~out[unit].isin(set(kept[unit]))
    return out.sort_values("rows_dropped", ascending=False).reset_index(drop=True)


def control_counts(p: StaggeredPanel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Comparison units per period and per cohort-time cell.

    Per period t: ``n_never`` (never-treated units observed), ``n_not_yet`` (units first treated after t,
    never-treated excluded) and ``n_untreated`` (both: the not-yet-treated comparison pool of Callaway-Sant'Anna
    and of the imputation estimator), ``n_treated``. Per post-treatment cell (g, t >= g): ``n_treated`` (units of
    cohort g observed at t), ``n_controls`` (units untreated at t + anticipation) and ``n_never``.
    """
    d = p.data
    g, t = d["g"].to_numpy(), d["time"].to_numpy()
    a = p.anticipation
    never, untreated = np.isinf(g), g > t + a
    times, at = np.unique(t, return_inverse=True)

    def per_period(mask: np.ndarray) -> np.ndarray:
        return np.bincount(at, weights=mask, minlength=len(times)).astype(np.int64)

    period = pd.DataFrame(
        {
            "time": times,
            "n_never": per_period(never),
            "n_not_yet": per_period(untreated & ~never),
            "n_untreated": per_period(untreated),
            "n_treated": per_period(t >= g - a),
        }
    )
    by_t = period.set_index("time")
    sizes = d[np.isfinite(d["g"])].groupby(["g", "time"]).size().rename("n").reset_index()
    sizes = sizes[sizes["time"] >= sizes["g"]]
    cells = pd.DataFrame(
        {
            "group": sizes["g"].to_numpy().astype(int),
            "time": sizes["time"].to_numpy().astype(int),
            "event_time": (sizes["time"] - sizes["g"]).to_numpy().astype(int),
            "n_treated": sizes["n"].to_numpy().astype(int),
            "n_controls": by_t["n_untreated"].reindex(sizes["time"]).to_numpy().astype(int),
            "n_never": by_t["n_never"].reindex(sizes["time"]).to_numpy().astype(int),
        }
    )
    return period, cells


def trim_thin_cells(p: StaggeredPanel, min_controls: int) -> tuple[StaggeredPanel, pd.DataFrame]:
    """Drop the treated observations of every cohort-time cell with fewer than ``min_controls`` comparison units
    (units untreated at that period); returns the trimmed panel (possibly unbalanced in treated rows) and the
    trimmed cells (group, time, event_time, n_treated, n_controls). ``min_controls`` 0 trims nothing."""
    if isinstance(min_controls, bool) or not isinstance(min_controls, (int, np.integer)) or min_controls < 0:
        raise ParameterError("min_controls", min_controls, hint="an integer, 0 or more (0: no trimming)")
    _, cells = control_counts(p)
    thin = cells[cells["n_controls"] < min_controls] if len(cells) else cells
    if thin.empty:
        return p, thin.reset_index(drop=True)
    d = p.data
    treated = np.isfinite(d["g"]).to_numpy()
    pairs = pd.MultiIndex.from_arrays([d["g"].where(treated, -1).astype(int), d["time"].astype(int)])
    drop = treated & pairs.isin(pd.MultiIndex.from_arrays([thin["group"], thin["time"]]))
    if (~drop & np.isfinite(d["g"]) & (d["time"] >= d["g"])).sum() == 0:
        raise EmptySampleError(
            f"min_controls = {min_controls} trims every treated cell (no period has that many untreated units); "
            f"lower min_controls"
        )
    notes = [*p.notes, f"trimmed {len(thin)} cohort-time cells with fewer than {min_controls} comparison units "
             f"({int(drop.sum())} treated observations)"]  # fmt: skip
    return replace(p, data=d[~drop].reset_index(drop=True), notes=notes), thin.reset_index(drop=True)


def never_treated_units(p: StaggeredPanel) -> list:
    return sorted(p.unit_table().index[np.isinf(p.unit_table()["g"])], key=str)


def drop_unit(p: StaggeredPanel, unit) -> StaggeredPanel:
    """The panel without one unit (for leave-one-out sensitivity)."""
    d = p.data[p.data["unit"] != unit].reset_index(drop=True)
    return replace(p, data=d, notes=[*p.notes, f"left out {unit}"])
