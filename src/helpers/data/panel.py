"""The country-year panel: treaty status for every instrument, outcomes and controls, validated and documented.

``build()`` is the one place where sources meet. It reads nothing but the loaders in :mod:`helpers.data.untc` and
:mod:`helpers.data.sources` (which read data/raw), and writes ``data/processed/``:

- ``panel.parquet`` / ``panel.csv``: one row per ``iso3`` x ``year``;
- ``ratifications.parquet`` / ``.csv``: the ratification table (one row per participant x instrument);
- ``cedaw_reservations.parquet``: the reviewed CEDAW reservation coding joined to its text;
- ``data_dictionary.csv``: column, label, role, meaning, source, unit (from the variable registry), first_year,
  last_year, n_countries, n_nonmissing (observed in the panel).

Treaty columns, for every instrument ``t`` (see :data:`helpers.data.treaties.TREATIES`):

- ``t_ratified``: 1 from the calendar year of the ratification / accession / succession act on; 0 again from the
  year a denunciation takes effect. Successor states that joined by *succession* inherit their predecessor's act
  date when ``successor_rule="inherit"`` (the default; the territory was bound from then); ``"own_act"`` uses the
  successor's own notification date.
- ``t_year``: the year the state first became bound (NA if never); ``t_years_since``: ``year - t_year`` while
  ratified, else 0; ``t_signed``: 1 from the signature year on (states that acceded without signing stay 0);
- ``t_region_density``: share of the *other* sovereign states (state-system members) of the same World Bank
  region that are parties that year.

Rows: every state that can act at the UN Treaty Collection (a UNTC participant: UN members, Holy See, State of
Palestine, Cook Islands, Niue), in its years in the state system or in V-Dem (``sovereign`` marks state-system
years). Units that cannot become parties (V-Dem's Hong Kong, Taiwan, Kosovo) are left out: in a treaty-effects
design they would pose as never-treated controls.

Columns: exactly those of the variable registry (``data/reference/variables.csv``, :mod:`helpers.data.variables`).
The build runs each loader the registry names once and keeps the columns registered for it; a loader column the
registry lacks, or a registered column a loader does not return, is a DataError naming the loader and the columns.

Every write goes to a temporary file and is renamed into place only after validation, so a failed build leaves the
previous good outputs untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError, EmptySampleError, ParameterError
from helpers.core.params import LABEL_RE, check_choices, check_label
from helpers.data import reservations, untc, variables
from helpers.data.countries import iso3_name, state_system_frame
from helpers.data.schemas import check_panel, validate_panel, validate_ratifications
from helpers.data.sources import worldbank
from helpers.data.treaties import TREATIES

FIRST_YEAR = 1970
SUCCESSOR_RULES = ("inherit", "own_act")
#: how acts listed under Yemen but made by Democratic Yemen before unification are dated (:func:`yemen_years`):
#: "unification" (default) or "listed_act" (UNTC's date, the behaviour before this option existed)
YEMEN_RULES = ("unification", "listed_act")

#: outcome, control and ordinal-outcome column lists: module attributes read from the variable registry
_REGISTRY_LISTS = ("OUTCOMES", "CONTROLS", "ORDINAL_OUTCOMES")


def __getattr__(name: str) -> list[str]:
    """``OUTCOMES``, ``CONTROLS``, ``ORDINAL_OUTCOMES``: as :mod:`helpers.data.variables` has them."""
    if name in _REGISTRY_LISTS:
        return getattr(variables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------------------------
# treaty status
# --------------------------------------------------------------------------------------------------------------
def _year(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").dt.year.astype("Int64")


def treaty_years(
    rat: pd.DataFrame,
    successor_rule: str = "inherit",
    yemen_rule: str = "unification",
    yemen: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per (iso3, treaty): the years a state became bound, signed, and stopped being bound.

    Returns columns iso3, treaty, bound_year, signed_year, denounced_year (Int64). Predecessor-state rows
    (``is_predecessor``) are used only to date successions under ``successor_rule="inherit"``: a state whose act
    is a succession is bound from the act of the state it succeeded to (:func:`succession_years`).
    ``yemen_rule`` dates the acts listed under Yemen that Democratic Yemen made (:func:`yemen_years`; ``yemen``:
    :func:`helpers.data.untc.yemen_acts`, else read from the predecessor rows ``YMD``).
    """
    if successor_rule not in SUCCESSOR_RULES:
        raise ParameterError("successor_rule", successor_rule, SUCCESSOR_RULES)
    if yemen_rule not in YEMEN_RULES:
        raise ParameterError("yemen_rule", yemen_rule, YEMEN_RULES)
    rat = rat.copy()
    is_pred = rat.get("is_predecessor", pd.Series(False, index=rat.index)).fillna(False).astype(bool)
    states = rat[~is_pred & rat["iso3"].notna()].copy()
    # the first act counts (Guyana acceded to ICCPR-OP1 in 1993, re-acceded in 1999 before its denunciation of the
    # first accession took effect: bound throughout)
    first = states["first_act_date"] if "first_act_date" in states else states["ratification_date"]
    states["bound_year"] = _year(first.fillna(states["ratification_date"]))
    states["signed_year"] = _year(states["signature_date"])
    states["denounced_year"] = _year(states["denounced_date"])
    if successor_rule == "inherit" and is_pred.any():
        states = succession_years(states, rat[is_pred])
    if yemen_rule == "unification":
        states = yemen_years(states, rat[is_pred], yemen)
    agg = states.groupby(["iso3", "treaty"], as_index=False).agg(
        bound_year=("bound_year", "min"),
        signed_year=("signed_year", "min"),
        denounced_year=("denounced_year", "max"),
    )
    # a state that denounced and later re-joined (the latest act after the denunciation) stays bound
    last_act = states.groupby(["iso3", "treaty"])["bound_year"].max().rename("last_act").reset_index()
    agg = agg.merge(last_act, on=["iso3", "treaty"], how="left")
    rejoined = (
        agg["denounced_year"].notna() & agg["last_act"].notna() & (agg["last_act"] > agg["denounced_year"])
    )
    agg.loc[rejoined, "denounced_year"] = pd.NA
    return agg.drop(columns="last_act")


#: A successor that succeeded to a union whose acts UNTC lists under another participant: Montenegro succeeded
#: (with effect from its independence, 3 June 2006) to the treaties of the State Union of Serbia and Montenegro,
#: whose acts are listed under Serbia, its continuator (UNTC "Historical Information", note 1 under Montenegro,
#: cited by Montenegro's footnotes); the State Union had itself succeeded in 2001 to the SFR Yugoslavia's acts.
SUCCEEDED_VIA: dict[str, str] = {"MNE": "SRB"}


def succession_years(states: pd.DataFrame, preds: pd.DataFrame) -> pd.DataFrame:
    """``bound_year`` of every act by succession set to the year the territory was first bound: the predecessor's
    act year, for every successor of that predecessor (the participants citing its footnote, and
    :data:`helpers.data.untc.DEFAULT_SUCCESSORS`), then, for a state in :data:`SUCCEEDED_VIA`, the (inherited)
    year of the participant it succeeded through. Acts by accession or ratification keep their own year."""
    states = states.copy()
    inherit: dict[tuple[str, str], int] = {}
    for p in preds.itertuples(index=False):
        y = pd.to_datetime(p.ratification_date, errors="coerce")
        if pd.isna(y):
            continue
        succ = set(p.successors if isinstance(p.successors, (list, tuple, np.ndarray)) else [])
        succ |= set(untc.DEFAULT_SUCCESSORS.get(str(p.iso3), ()))
        for c in succ:
            key = (c, p.treaty)
            inherit[key] = min(inherit.get(key, 9999), int(y.year))
    is_succ = states["act_type"].eq("succession").fillna(False).to_numpy(dtype=bool)
    for idx in states.index[is_succ]:
        key = (states.at[idx, "iso3"], states.at[idx, "treaty"])
        if key in inherit and pd.notna(states.at[idx, "bound_year"]):
            states.at[idx, "bound_year"] = min(int(states.at[idx, "bound_year"]), inherit[key])
    via = states.set_index(["iso3", "treaty"])["bound_year"]
    via = via[~via.index.duplicated()]
    for idx in states.index[is_succ]:
        src = SUCCEEDED_VIA.get(str(states.at[idx, "iso3"]))
        key = (src, states.at[idx, "treaty"])
        if src and key in via.index and pd.notna(via[key]) and pd.notna(states.at[idx, "bound_year"]):
            states.at[idx, "bound_year"] = min(int(states.at[idx, "bound_year"]), int(via[key]))
    return states


#: Yemen's unification (22 May 1990): the Republic of Yemen continued the treaty obligations of both Yemens
YEMEN_UNIFICATION = 1990


def yemen_years(states: pd.DataFrame, preds: pd.DataFrame, yemen: pd.DataFrame | None = None) -> pd.DataFrame:
    """Yemen's acts under ``yemen_rule="unification"``: an act listed under Yemen that Democratic Yemen (South) made
    before 1990 binds the panel's Yemen, whose years before 1990 are North Yemen's (V-Dem, state system), only from
    the Yemen Arab Republic's own act if a footnote gives one, else from unification (1990). Signatures made by
    Democratic Yemen are moved the same way. ``yemen``: :func:`helpers.data.untc.yemen_acts` (None: the treaties
    with a ``YMD`` predecessor row)."""
    if yemen is None:
        yemen = pd.DataFrame(
            {
                "treaty": preds.loc[preds["iso3"].eq("YMD"), "treaty"].to_numpy(),
                "listed_by": "YMD",
                "yar_act_date": pd.NaT,
            }
        )
    states = states.copy()
    for y in yemen[yemen["listed_by"].eq("YMD")].itertuples(index=False):
        rows = states.index[states["iso3"].eq("YEM").to_numpy() & states["treaty"].eq(y.treaty).to_numpy()]
        yar = pd.to_datetime(y.yar_act_date)
        for idx in rows:
            for col in ("bound_year", "signed_year"):
                v = states.at[idx, col]
                if pd.isna(v) or int(v) >= YEMEN_UNIFICATION:
                    continue
                own = int(yar.year) if col == "bound_year" and pd.notna(yar) else YEMEN_UNIFICATION
                states.at[idx, col] = min(own, YEMEN_UNIFICATION)
    return states


def treaty_columns(
    frame: pd.DataFrame,
    rat: pd.DataFrame,
    treaties: Iterable[str],
    successor_rule: str = "inherit",
    region_col: str = "region",
    yemen_rule: str = "unification",
    yemen: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add ``t_ratified, t_year, t_years_since, t_signed, t_region_density`` for each treaty to an iso3 x year frame
    (rules of :func:`treaty_years`)."""
    ty = treaty_years(rat, successor_rule, yemen_rule, yemen)
    out = frame.copy()
    year = out["year"].to_numpy()
    new_cols = {}
    for t in treaties:
        sub = ty[ty["treaty"] == t].set_index("iso3")
        bound = out["iso3"].map(sub["bound_year"]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        signed = out["iso3"].map(sub["signed_year"]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        den = out["iso3"].map(sub["denounced_year"]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        ratified = (year >= bound) & ~(year >= den)
        new_cols[f"{t}_ratified"] = ratified.astype("int8")
        new_cols[f"{t}_year"] = pd.array(np.where(np.isnan(bound), pd.NA, bound), dtype="Int64")
        new_cols[f"{t}_years_since"] = np.where(ratified, year - np.nan_to_num(bound), 0).astype("int16")
        new_cols[f"{t}_signed"] = (year >= signed).astype("int8")
    out = pd.concat([out, pd.DataFrame(new_cols, index=out.index)], axis=1)
    if region_col in out.columns:
        for t in treaties:
            col = f"{t}_ratified"
            w = out["sovereign"] if "sovereign" in out else pd.Series(1, index=out.index)
            num = (out[col] * w).groupby([out[region_col], out["year"]]).transform("sum")
            n = w.groupby([out[region_col], out["year"]]).transform("sum")
            own_w = w.astype(float)
            dens = (num - out[col] * own_w) / (n - own_w).where((n - own_w) > 0)
            out[f"{t}_region_density"] = dens.where(out[region_col].notna()).astype(float)
    return out


# --------------------------------------------------------------------------------------------------------------
# frame and merge
# --------------------------------------------------------------------------------------------------------------
def _merge_source(panel: pd.DataFrame, df: pd.DataFrame, name: str) -> pd.DataFrame:
    if df.duplicated(["iso3", "year"]).any():
        dups = df.loc[df.duplicated(["iso3", "year"], keep=False), ["iso3", "year"]].drop_duplicates()
        raise DataError(f"{name}: duplicate country-years {dups.head(10).to_records(index=False).tolist()}")
    clash = sorted((set(df.columns) & set(panel.columns)) - {"iso3", "year"})
    if clash:
        raise DataError(f"{name}: column(s) {clash} already in the panel; rename them in the loader")
    return panel.merge(df, on=["iso3", "year"], how="left")


def build(
    first_year: int = FIRST_YEAR,
    last_year: int | None = None,
    treaties: Iterable[str] | None = None,
    successor_rule: str = "inherit",
    write: bool = True,
    out_dir: Path | None = None,
    progress: bool = True,
    yemen_rule: str = "unification",
) -> pd.DataFrame:
    """Build (and by default write) the panel, ``first_year`` to ``last_year`` (None = the latest year any outcome
    covers); ``successor_rule`` and ``yemen_rule`` as in :func:`treaty_years`."""
    all_treaties = list(TREATIES)
    treaties = check_choices("treaties", treaties or all_treaties, all_treaties)
    steps = ["ratifications", "frame", "treaties", "indicators", "derived", "validate", "write"]
    bar = None
    if progress:
        from tqdm.std import tqdm

        bar = tqdm(total=len(steps), desc="panel", unit="step")

    def tick(msg):
        if bar is not None:
            bar.set_postfix_str(msg)
            bar.update(1)

    rat = untc.ratifications()
    tick("ratifications")

    frames = indicator_frames()
    vdem_frame = _rows_frame(frames)
    regions = worldbank.load_regions()
    states = set(untc.participants(rat)["iso3"].dropna())
    # units that cannot become parties (Hong Kong, Taiwan, Kosovo) would enter every design as "never treated":
    # the panel holds the states that can act at the UN Treaty Collection (UNTC participants), listed in
    # panel.attrs["excluded_units"]
    codes = sorted(states)
    excluded_units = sorted(set(vdem_frame["iso3"]) - states)
    lo, hi = first_year, (last_year or last_outcome_year(frames))
    if lo > hi:
        raise ParameterError("last_year", hi, hint=f"must not be before first_year={lo}")
    frame = country_year_frame(codes, lo, hi, vdem_frame[["iso3", "year"]])

    names = {c: _safe_name(iso3_name, c) for c in codes}
    frame.insert(2, "country", frame["iso3"].map(names).astype("string"))
    frame = frame.merge(regions[["iso3", "region"]], on="iso3", how="left")
    tick("frame")

    panel = treaty_columns(
        frame, rat, treaties, successor_rule, yemen_rule=yemen_rule, yemen=untc.yemen_acts(treaties)
    )
    if "cedaw" in treaties:
        res = reservations.reservation_status((lo, hi))
        panel = _merge_source(panel, res, "CEDAW reservations")
        rcols = [c for c in res.columns if c.startswith("cedaw_res_")]
        # a reservation is in force only while the state is bound (under yemen_rule="unification" Yemen's 1984
        # reservations apply from 1990, with the accession they were made with)
        bound = panel["cedaw_ratified"].to_numpy() == 1
        panel[rcols] = panel[rcols].fillna(0).mul(bound.astype("int8"), axis=0).astype("int8")
    tick("treaties")

    for name, df in frames.items():
        panel = _merge_source(panel, df[(df["year"] >= lo) & (df["year"] <= hi)], name)
    tick("indicators")

    panel = add_derived(panel)
    check_registered_columns(panel, treaties)
    panel = panel.sort_values(["iso3", "year"], ignore_index=True).copy()  # copy: one defragmented block
    panel.attrs["excluded_units"] = excluded_units
    tick("derived")

    panel = validate_panel(panel, treaties)
    rat = validate_ratifications(rat)
    tick("validate")

    if write:
        write_outputs(panel, rat, out_dir or paths.PROCESSED)
    tick("write")
    if bar is not None:
        bar.close()
    return panel


def country_year_frame(codes: list[str], lo: int, hi: int, observed: pd.DataFrame) -> pd.DataFrame:
    """The panel's rows: each country's years in the state system (Gleditsch-Ward or COW, via countrycode) or in
    V-Dem (which also covers some units before independence); units in neither (Cook Islands, Niue, Holy See,
    small states outside both systems) get every year. ``sovereign`` = 1 in state-system years; regional ratification
    density is computed among sovereign states only."""
    system = pd.concat(
        [state_system_frame("gwn", lo, hi), state_system_frame("cown", lo, hi)]
    ).drop_duplicates()
    system["sovereign"] = 1
    seen = pd.concat(
        [system[["iso3", "year"]], observed[(observed["year"] >= lo) & (observed["year"] <= hi)]]
    )
    seen = seen[seen["iso3"].isin(codes)].drop_duplicates()
    never = sorted(set(codes) - set(seen["iso3"]))
    full = pd.MultiIndex.from_product([never, range(lo, hi + 1)], names=["iso3", "year"]).to_frame(
        index=False
    )
    frame = pd.concat([seen, full], ignore_index=True)
    frame["iso3"] = frame["iso3"].astype("string")
    frame["year"] = frame["year"].astype("int64")
    frame = frame.merge(system, on=["iso3", "year"], how="left")
    frame["sovereign"] = frame["sovereign"].fillna(0).astype("int8")
    return frame.sort_values(["iso3", "year"], ignore_index=True)


def _safe_name(fn, code):
    try:
        return fn(code)
    except ParameterError:  # a code the crosswalk does not name (e.g. a predecessor code): keep the code
        return code


#: the loader whose country-years (with the state system) define the panel's rows and its excluded units
ROWS_LOADER = "vdem.load_vdem"


def indicator_frames() -> dict[str, pd.DataFrame]:
    """Every loader the variable registry names, run once, keyed by its ``module.function`` name.

    Each frame holds ``iso3``, ``year`` and exactly the columns the registry assigns to that loader (in the loader's
    order); a column the registry lacks, or a registered column the loader does not return, raises DataError.
    """
    return {name: registered_frame(name, fn()) for name, fn in variables.loaders().items()}


def registered_frame(loader: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (a loader's output) if its value columns are exactly those registered for ``loader``; else DataError."""
    keys = ["iso3", "year"]
    if [c for c in keys if c not in df.columns]:
        raise DataError(f"loader {loader}: returns columns {list(df.columns)[:10]}, without the keys {keys}")
    want = variables.loader_columns(loader)
    have = [c for c in df.columns if c not in keys]
    extra, absent = [c for c in have if c not in want], [c for c in want if c not in have]
    if extra or absent:
        raise DataError(
            f"loader {loader}: returns column(s) {extra} that {variables.table_path()} does not register, and "
            f"does not return registered column(s) {absent}; add one registry row per new column (or drop it in "
            f"the loader) and remove the rows of columns the loader no longer makes"
        )
    return df[[*keys, *have]]


def _rows_frame(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if ROWS_LOADER not in frames:
        raise DataError(
            f"{variables.table_path()}: no column is registered for loader {ROWS_LOADER}, whose country-years "
            f"define the panel rows; loaders registered: {list(frames)}"
        )
    return frames[ROWS_LOADER]


def last_outcome_year(frames: dict[str, pd.DataFrame]) -> int:
    """The latest year in which any registered outcome has a value, over the loaders' frames."""
    outcomes = set(variables.OUTCOMES)
    years = [
        int(df.loc[df[cols].notna().any(axis=1), "year"].max())
        for df in frames.values()
        if (cols := [c for c in df.columns if c in outcomes])
    ]
    if not years:
        raise DataError(f"{variables.table_path()}: no loader returns a registered outcome")
    return max(years)


def check_registered_columns(panel: pd.DataFrame, treaties: Iterable[str]) -> None:
    """The built panel must hold exactly the columns the registry lists for ``treaties``; else DataError."""
    want = variables.registered_columns(treaties)
    extra = [c for c in panel.columns if c not in want]
    absent = [c for c in want if c not in panel.columns]
    if extra or absent:
        raise DataError(
            f"panel: column(s) {extra} are not registered in {variables.table_path()}, and registered column(s) "
            f"{absent} were not built; register every panel column (role, label, meaning, unit, source, loader)"
        )


def add_derived(panel: pd.DataFrame) -> pd.DataFrame:
    """Derived controls: ln GDP per capita (WDI constant 2015 USD), ln population (V-Dem e_wb_pop); zero-filled
    UCDP dummies for every panel country-year up to the UCDP data's last year."""
    p = panel.copy()
    if "ny_gdp_pcap_kd" in p:
        p["ln_gdppc"] = np.log(p["ny_gdp_pcap_kd"].where(p["ny_gdp_pcap_kd"] > 0))
    if "e_wb_pop" in p:
        p["ln_pop"] = np.log(p["e_wb_pop"].where(p["e_wb_pop"] > 0))
    return p


# --------------------------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------------------------
def _atomic(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_outputs(panel: pd.DataFrame, rat: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Write panel, ratification table and data dictionary (each atomically)."""
    out = {
        "panel": out_dir / "panel.parquet",
        "panel_csv": out_dir / "panel.csv",
        "ratifications": out_dir / "ratifications.parquet",
        "ratifications_csv": out_dir / "ratifications.csv",
        "dictionary": out_dir / "data_dictionary.csv",
    }
    rat_out = rat.copy()
    if "successors" in rat_out:
        rat_out["successors"] = rat_out["successors"].map(
            lambda v: ";".join(v) if isinstance(v, list | tuple | np.ndarray) else v
        )
    if "footnotes" in rat_out:
        rat_out["footnotes"] = rat_out["footnotes"].map(
            lambda v: ";".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else v
        )
    dictionary = data_dictionary(panel)
    _atomic(out["panel"], lambda p: panel.to_parquet(p, index=False))
    _atomic(out["panel_csv"], lambda p: panel.to_csv(p, index=False))
    _atomic(out["ratifications"], lambda p: rat_out.to_parquet(p, index=False))
    _atomic(out["ratifications_csv"], lambda p: rat_out.to_csv(p, index=False))
    _atomic(out["dictionary"], lambda p: dictionary.to_csv(p, index=False))
    res = reservations.cedaw_reservations()
    out["reservations"] = out_dir / "cedaw_reservations.parquet"
    _atomic(out["reservations"], lambda p: res.to_parquet(p, index=False))
    return out


#: columns of the data dictionary
DICTIONARY_COLUMNS = [
    "column",
    "label",
    "role",
    "meaning",
    "source",
    "unit",
    "first_year",
    "last_year",
    "n_countries",
    "n_nonmissing",
]


def data_dictionary(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per panel column: label, role, meaning, source and unit from the variable registry; observed coverage
    (first/last year with data, countries with data, non-missing cells). An unregistered column gets role
    ``unregistered`` and blank descriptions."""
    reg = variables.registry().set_index("column")
    rows = []
    for col in panel.columns:
        nn = panel[col].notna()
        info = reg.loc[col] if col in reg.index else None
        rows.append(
            {
                "column": col,
                "label": col if info is None else info["label"],
                "role": "unregistered" if info is None else info["role"],
                "meaning": "" if info is None else info["meaning"],
                "source": "" if info is None else info["source"],
                "unit": "" if info is None else info["unit"],
                "first_year": int(panel.loc[nn, "year"].min()) if nn.any() else None,
                "last_year": int(panel.loc[nn, "year"].max()) if nn.any() else None,
                "n_countries": int(panel.loc[nn, "iso3"].nunique()),
                "n_nonmissing": int(nn.sum()),
            }
        )
    return pd.DataFrame(rows, columns=DICTIONARY_COLUMNS)


#: file types a panel may be read from
TABLE_SUFFIXES = (".parquet", ".csv")
#: what ``panel_path`` accepts, for error messages
PANEL_PATH_HELP = (
    'panel_path takes "" (the project panel data/processed/panel.parquet), the label of a panel built by '
    "notebook 00 (data/processed/<label>/panel.parquet), or a tidy .parquet/.csv file with one row per unit and "
    "period"
)


def built_panels() -> list[str]:
    """Labels of the labelled panels built by notebook 00 (``data/processed/<label>/panel.parquet``)."""
    base = Path(paths.PROCESSED)
    return sorted(p.parent.name for p in base.glob("*/panel.parquet")) if base.is_dir() else []


def is_panel_label(value: str | Path) -> bool:
    """True when ``value`` names a labelled panel (a bare label, no folder and no table suffix)."""
    s = str(value)
    return bool(LABEL_RE.fullmatch(s)) and Path(s).suffix.lower() not in TABLE_SUFFIXES


def resolve_panel(path: str | Path | None = None) -> Path:
    """The file of a panel given as "" / None / "default" (the project panel), a label of a panel built by notebook
    00 (``data/processed/<label>/panel.parquet``) or a path."""
    if not path or str(path) == "default":
        return Path(paths.PANEL)
    if is_panel_label(path):
        return Path(paths.PROCESSED) / str(path) / "panel.parquet"
    return Path(path)


def build_dir(
    label: str = "default",
    first_year: int = FIRST_YEAR,
    last_year: int | None = None,
    treaties: Iterable[str] | None = None,
    successor_rule: str = "inherit",
) -> Path:
    """Where a build with these parameters writes: ``data/processed/`` for the project panel (label "default" and
    the default parameters), ``data/processed/<label>/`` for any other label.

    A build with non-default parameters under the label "default" would replace the project panel that every
    analysis notebook reads: that is a ParameterError naming the parameters that differ.
    """
    if label != "default":
        check_label("run_label", label)
        return Path(paths.PROCESSED) / label
    given = {
        "first_year": first_year,
        "last_year": last_year or None,
        "treaties": sorted(treaties) if treaties else sorted(TREATIES),
        "successor_rule": successor_rule,
    }
    default = {
        "first_year": FIRST_YEAR,
        "last_year": None,
        "treaties": sorted(TREATIES),
        "successor_rule": "inherit",
    }
    changed = [f"{k}={given[k]!r}" for k in given if given[k] != default[k]]
    if changed:
        raise ParameterError(
            "run_label",
            label,
            hint=f"a build with non-default parameters ({', '.join(changed)}) must not replace the project panel "
            "data/processed/panel.parquet: give it its own run_label (the label of its parameter file, or --label); "
            "it is then written to data/processed/<run_label>/ and the analysis notebooks read it with "
            "panel_path: <run_label>",
        )
    return Path(paths.PROCESSED)


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a .parquet or .csv table; anything that cannot be read is one DataError naming the file."""
    p = Path(path)
    kind = p.suffix.lower()
    if kind not in TABLE_SUFFIXES:
        raise DataError(f"{p}: not a .parquet or .csv file; {PANEL_PATH_HELP}")
    try:
        if kind == ".parquet":
            return pd.read_parquet(p, columns=columns)
        return pd.read_csv(p, usecols=columns)
    except (ValueError, OSError) as exc:  # ParserError, UnicodeDecodeError, ArrowInvalid are ValueErrors
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise DataError(
            f"{p}: cannot be read as a {kind[1:]} table ({type(exc).__name__}: {first}); {PANEL_PATH_HELP}"
        ) from None


def load(
    path: str | Path | None = None,
    columns: list[str] | None = None,
    *,
    unit_col: str = "iso3",
    time_col: str = "year",
    outcome: str | None = None,
) -> pd.DataFrame:
    """Read and validate a panel: the project panel (``path`` "" or None), a labelled panel built by notebook 00
    (``path`` its label) or any tidy panel given by path (parquet or csv).

    Every load runs :func:`helpers.data.schemas.check_panel` with the panel's unit and time columns (and
    ``outcome``, when given): the project's keys get the full schema (registry ranges, treaty status), any other
    panel the checks that apply to it (unique unit-period keys, integer periods, a numeric outcome). A failure is a
    DataError naming the file, the column, the check and the rows; a missing or unreadable file one line naming it.
    """
    p = resolve_panel(path)
    if not p.is_file():
        if not path:
            raise DataError(f"{p}: panel file not found (run `make build`)")
        built = built_panels()
        raise DataError(
            f"{p}: panel file not found (panel_path={str(path)!r}); labelled panels built so far: "
            f"{', '.join(built) or 'none'}; {PANEL_PATH_HELP}"
        )
    if columns is not None:
        columns = list(dict.fromkeys([unit_col, time_col, *columns]))
    df = read_table(p, columns)
    if df.empty:
        raise EmptySampleError(f"{p}: the panel has no rows")
    return check_panel(df, p, unit_col, time_col, outcome)


def ratifications_path(
    panel_path: str | Path = "", explicit: str | Path = "", *, project_fallback: bool = True
) -> Path | None:
    """The ratification table that goes with a panel, or None.

    ``explicit``: "none" -> None; a path -> that path. Otherwise, on the project panel (``panel_path`` empty) the
    project table; on another panel (a path or the label of a labelled build) a ``ratifications.parquet`` beside it
    if present, else the project table when ``project_fallback`` (or None). A returned path exists.
    """
    if str(explicit).lower() == "none":
        return None
    if explicit:
        candidates = [Path(explicit)]
    elif not panel_path:
        candidates = [paths.RATIFICATIONS]
    else:
        candidates = [resolve_panel(panel_path).with_name("ratifications.parquet")]
        if project_fallback:
            candidates.append(paths.RATIFICATIONS)
    return next((c for c in candidates if c.exists()), None)


def load_ratifications(path: str | Path | None = None) -> pd.DataFrame:
    p = Path(path) if path else paths.RATIFICATIONS
    if not p.exists():
        raise DataError(f"{p}: ratification table not found (run `make build`)")
    return pd.read_parquet(p)
