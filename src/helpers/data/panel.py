"""The country-year panel: treaty status for every instrument, outcomes and controls, validated and documented.

``build()`` is the one place where sources meet. It reads nothing but the loaders in :mod:`helpers.data.untc` and
:mod:`helpers.data.sources` (which read data/raw), and writes ``data/processed/``:

- ``panel.parquet`` / ``panel.csv``: one row per ``iso3`` x ``year``;
- ``ratifications.parquet`` / ``.csv``: the ratification table (one row per participant x instrument);
- ``cedaw_reservations.parquet``: the reviewed CEDAW reservation coding joined to its text;
- ``data_dictionary.csv``: column, meaning, source, unit, first_year, last_year, n_countries.

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
from helpers.core.params import check_choices
from helpers.data import reservations, sources, untc
from helpers.data.countries import iso3_name, state_system_frame
from helpers.data.schemas import validate_panel, validate_ratifications
from helpers.data.sources import apt, ciri, gapminder, maddison, polity, sdg, ucdp, vdem, wbl, wdi, worldbank
from helpers.data.treaties import TREATIES

FIRST_YEAR = 1970
SUCCESSOR_RULES = ("inherit", "own_act")

#: outcome columns the analyses offer (the data dictionary marks them role="outcome")
OUTCOMES = [
    "v2x_gender",
    "v2x_gencl",
    "v2x_gencs",
    "v2x_genpp",
    "v2lgfemleg",
    "v2clacjstw",
    "v2cldmovew",
    "v2csgender",
    "v2pepwrgen",
    "v2cldiscw",
    "v2clslavef",
    "v2clprptyw",
    "v2mefemjrn",
    "v2xpe_exlgender",
    "v2clgencl",
    "wecon",
    "wopol",
    "wosoc",
    "physint",
    "wecon_cirights",
    "wopol_cirights",
    "wbl_index",
    "wbl_mobility",
    "wbl_workplace",
    "wbl_pay",
    "wbl_marriage",
    "wbl_parenthood",
    "wbl_entrepreneurship",
    "wbl_assets",
    "wbl_pension",
    "sg_gen_parl_zs",
    "sh_sta_mmr",
]
#: control columns
CONTROLS = [
    "ln_gdppc",
    "ln_pop",
    "v2x_polyarchy",
    "v2x_libdem",
    "polity2",
    "v2xcs_ccsi",
    "v2x_civlib",
    "ucdp_conflict",
    "ucdp_war",
    "nhri_a_status",
    "e_peaveduc",
    "e_miurbani",
]
ORDINAL_OUTCOMES = ["wecon", "wopol", "wosoc", "physint", "wecon_cirights", "wopol_cirights"]


# --------------------------------------------------------------------------------------------------------------
# treaty status
# --------------------------------------------------------------------------------------------------------------
def _year(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").dt.year.astype("Int64")


def treaty_years(rat: pd.DataFrame, successor_rule: str = "inherit") -> pd.DataFrame:
    """Per (iso3, treaty): the years a state became bound, signed, and stopped being bound.

    Returns columns iso3, treaty, bound_year, signed_year, denounced_year (Int64). Predecessor-state rows
    (``is_predecessor``) are used only to date successions under ``successor_rule="inherit"``.
    """
    if successor_rule not in SUCCESSOR_RULES:
        raise ParameterError("successor_rule", successor_rule, SUCCESSOR_RULES)
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
        preds = rat[is_pred].copy()
        preds["pred_year"] = _year(preds["ratification_date"])
        inherit = {}
        for _, p in preds.dropna(subset=["pred_year"]).iterrows():
            for succ in p.get("successors") or []:
                key = (succ, p["treaty"])
                inherit[key] = min(inherit.get(key, 9999), int(p["pred_year"]))
        is_succ = states["act_type"].eq("succession")
        for idx in states.index[is_succ]:
            key = (states.at[idx, "iso3"], states.at[idx, "treaty"])
            if key in inherit and pd.notna(states.at[idx, "bound_year"]):
                states.at[idx, "bound_year"] = min(int(states.at[idx, "bound_year"]), inherit[key])
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


def treaty_columns(
    frame: pd.DataFrame,
    rat: pd.DataFrame,
    treaties: Iterable[str],
    successor_rule: str = "inherit",
    region_col: str = "region",
) -> pd.DataFrame:
    """Add ``t_ratified, t_year, t_years_since, t_signed, t_region_density`` for each treaty to an iso3 x year frame."""
    ty = treaty_years(rat, successor_rule)
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
) -> pd.DataFrame:
    """Build (and by default write) the panel, ``first_year`` to ``last_year`` (None = the latest year any outcome
    covers)."""
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
    vdem_frame = frames["V-Dem (vdemlite)"]
    regions = worldbank.load_regions()
    states = set(untc.participants(rat)["iso3"].dropna())
    # units that cannot become parties (Hong Kong, Taiwan, Kosovo) would enter every design as "never treated":
    # the panel holds the states that can act at the UN Treaty Collection (UNTC participants), listed in
    # panel.attrs["excluded_units"]
    codes = sorted(states)
    excluded_units = sorted(set(vdem_frame["iso3"]) - states)
    last_outcome_year = max(
        int(df.loc[df[[c for c in df.columns if c in OUTCOMES]].notna().any(axis=1), "year"].max())
        for df in frames.values()
        if any(c in OUTCOMES for c in df.columns)
    )
    lo, hi = first_year, (last_year or last_outcome_year)
    if lo > hi:
        raise ParameterError("last_year", hi, hint=f"must not be before first_year={lo}")
    frame = country_year_frame(codes, lo, hi, vdem_frame[["iso3", "year"]])

    names = {c: _safe_name(iso3_name, c) for c in codes}
    frame.insert(2, "country", frame["iso3"].map(names).astype("string"))
    frame = frame.merge(regions[["iso3", "region"]], on="iso3", how="left")
    tick("frame")

    panel = treaty_columns(frame, rat, treaties, successor_rule)
    if "cedaw" in treaties:
        res = reservations.reservation_status((lo, hi))
        panel = _merge_source(panel, res, "CEDAW reservations")
        rcols = [c for c in res.columns if c.startswith("cedaw_res_")]
        panel[rcols] = panel[rcols].fillna(0).astype("int8")
    tick("treaties")

    for name, df in frames.items():
        panel = _merge_source(panel, df[(df["year"] >= lo) & (df["year"] <= hi)], name)
    tick("indicators")

    panel = add_derived(panel)
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


def indicator_frames() -> dict[str, pd.DataFrame]:
    """Every loader's tidy frame, keyed by a label used in error messages."""
    frames = {
        "V-Dem (vdemlite)": vdem.load_vdem(),
        "CIRI 2014": ciri.load_ciri(),
        "CIRIGHTS early release": ciri.load_cirights(),
        "Women, Business and the Law": wbl.load_wbl(),
        "World Development Indicators": wdi.load_wdi(),
        "Gapminder": gapminder.load_gapminder(),
        "Polity5": polity.load_polity(),
        "Maddison 2020": maddison.load_maddison(),
        "World Bank income groups": worldbank.load_income_groups(),
        "SDG maternal mortality": sdg.load_mmr(),
        "APT NHRI proxy": apt.load_apt_nhri(),
    }
    frames["UCDP/PRIO ACD"] = ucdp.load_ucdp()
    return frames


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


def data_dictionary(panel: pd.DataFrame) -> pd.DataFrame:
    """Column, meaning, source, unit, role and coverage (first/last year with data, countries with data)."""
    meta = sources.variable_metadata().set_index("column")
    rows = []
    for col in panel.columns:
        nn = panel[col].notna()
        first = int(panel.loc[nn, "year"].min()) if nn.any() else None
        last = int(panel.loc[nn, "year"].max()) if nn.any() else None
        n_c = int(panel.loc[nn, "iso3"].nunique())
        meaning, source, unit = _describe(col, meta, TREATIES)
        role = (
            "key"
            if col in ("iso3", "year")
            else "outcome"
            if col in OUTCOMES
            else "control"
            if col in CONTROLS
            else "treaty"
            if "_" in col and col.split("_")[0] in {t.split("_")[0] for t in TREATIES}
            else "other"
        )
        rows.append(
            {
                "column": col,
                "role": role,
                "meaning": meaning,
                "source": source,
                "unit": unit,
                "first_year": first,
                "last_year": last,
                "n_countries": n_c,
                "n_nonmissing": int(nn.sum()),
            }
        )
    return pd.DataFrame(rows)


_TREATY_SUFFIX = {
    "ratified": (
        "1 from the year the state became bound ({name}); 0 after a denunciation takes effect",
        "0/1",
    ),
    "year": ("year the state first became bound by {name} (NA = never)", "year"),
    "years_since": ("years since becoming bound by {name} (0 in that year and before)", "years"),
    "signed": ("1 from the year the state signed {name} (0 if it acceded without signing)", "0/1"),
    "region_density": (
        "share of the other states of the same World Bank region bound by {name} that year",
        "share 0-1",
    ),
}


def _describe(col: str, meta: pd.DataFrame, treaties: dict) -> tuple[str, str, str]:
    if col in meta.index:
        r = meta.loc[col]
        return str(r.get("meaning", "")), str(r.get("source", "")), str(r.get("unit", ""))
    for t in sorted(treaties, key=len, reverse=True):
        if col.startswith(t + "_") and col[len(t) + 1 :] in _TREATY_SUFFIX:
            text, unit = _TREATY_SUFFIX[col[len(t) + 1 :]]
            info = treaties[t]
            name = info.get("short", t) if isinstance(info, dict) else getattr(info, "short", t)
            return text.format(name=name), "untc_hr_treaties_2026", unit
    fixed = {
        "iso3": ("ISO 3166-1 alpha-3 country code (XKX = Kosovo)", "helpers.countries", "code"),
        "year": ("calendar year", "", "year"),
        "country": ("English short name", "countrycode", "text"),
        "region": ("World Bank region (7 groups, FY23 classification)", "wb_income_class", "category"),
        "sovereign": (
            "1 in years the state is a member of the Gleditsch-Ward or COW state system (countrycode panel)",
            "countrycode",
            "0/1",
        ),
        "ln_gdppc": (
            "natural log of GDP per capita, constant 2015 USD (WDI NY.GDP.PCAP.KD)",
            "wdi_plsc504",
            "log USD",
        ),
        "ln_pop": ("natural log of population (V-Dem e_wb_pop, World Bank)", "vdemlite", "log persons"),
        "cedaw_res_any": (
            "CEDAW: any reservation in force (reviewed coding of the UNTC declarations text)",
            "untc_hr_treaties_2026 + data/reference/cedaw_reservations.csv",
            "0/1",
        ),
        "cedaw_res_art2": (
            "CEDAW: reservation to Article 2 in force",
            "untc_hr_treaties_2026 + data/reference/cedaw_reservations.csv",
            "0/1",
        ),
        "cedaw_res_art16": (
            "CEDAW: reservation to Article 16 in force",
            "untc_hr_treaties_2026 + data/reference/cedaw_reservations.csv",
            "0/1",
        ),
        "cedaw_res_art29": (
            "CEDAW: reservation to Article 29(1) (dispute settlement) in force",
            "untc_hr_treaties_2026 + data/reference/cedaw_reservations.csv",
            "0/1",
        ),
        "cedaw_res_general": (
            "CEDAW: general reservation (constitution / religious or customary law) in force",
            "untc_hr_treaties_2026 + data/reference/cedaw_reservations.csv",
            "0/1",
        ),
    }
    return fixed.get(col, ("", "", ""))


def load(path: str | Path | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Read the processed panel (or any tidy panel given by path, parquet or csv) with a clear error if absent."""
    p = Path(path) if path else paths.PANEL
    if not p.exists():
        hint = " (run `make build`)" if not path else ""
        raise DataError(f"{p}: panel file not found{hint}")
    df = pd.read_parquet(p, columns=columns) if p.suffix == ".parquet" else pd.read_csv(p, usecols=columns)
    if df.empty:
        raise EmptySampleError(f"{p}: the panel has no rows")
    return df


def ratifications_path(
    panel_path: str | Path = "", explicit: str | Path = "", *, project_fallback: bool = True
) -> Path | None:
    """The ratification table that goes with a panel, or None.

    ``explicit``: "none" -> None; a path -> that path. Otherwise, on the project panel (``panel_path`` empty) the
    project table; on another panel a ``ratifications.parquet`` beside it if present, else the project table when
    ``project_fallback`` (or None). A returned path exists.
    """
    if str(explicit).lower() == "none":
        return None
    if explicit:
        candidates = [Path(explicit)]
    elif not panel_path:
        candidates = [paths.RATIFICATIONS]
    else:
        candidates = [Path(panel_path).with_name("ratifications.parquet")]
        if project_fallback:
            candidates.append(paths.RATIFICATIONS)
    return next((c for c in candidates if c.exists()), None)


def load_ratifications(path: str | Path | None = None) -> pd.DataFrame:
    p = Path(path) if path else paths.RATIFICATIONS
    if not p.exists():
        raise DataError(f"{p}: ratification table not found (run `make build`)")
    return pd.read_parquet(p)
