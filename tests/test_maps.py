"""Tests of helpers.maps on the real Natural Earth files (iso3 fixes, small states, UN members) and the builders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from helpers.core import paths
from helpers.core.errors import DataError, ParameterError
from helpers.report import export, maps

pytestmark = pytest.mark.realdata
NE_DIR = paths.RAW / "naturalearth"
CODELIST = paths.RAW / "countrycode" / "codelist_without_cldr.csv"
if not (NE_DIR / "ne_50m_admin_0_countries.7z").is_file():
    pytest.skip("Natural Earth raw files not fetched", allow_module_level=True)

SMALL_STATES = [
    "MLT",
    "SGP",
    "BHR",
    "MDV",
    "AND",
    "LIE",
    "MCO",
    "SMR",
    "NRU",
    "PLW",
    "KNA",
    "BRB",
    "SYC",
    "TON",
]


@pytest.fixture(scope="module")
def ne50():
    return maps.load_countries("50m")


@pytest.fixture(scope="module")
def un_members() -> list[str]:
    """The 193 UN member states (countrycode's un.name.en is filled for members only), an independent list."""
    if not CODELIST.is_file():
        pytest.skip("countrycode crosswalk not fetched")
    cc = pd.read_csv(CODELIST, keep_default_na=False, dtype=str)
    members = sorted(cc.loc[cc["un.name.en"] != "", "iso3c"])
    assert len(members) == 193
    return members


def test_iso3_fix_france_norway(ne50):
    assert len(ne50) == 241 and ne50["iso3"].is_unique
    assert not (ne50["iso3"] == "-99").any()
    by = ne50.set_index("iso3")
    assert by.loc["FRA", "admin"] == "France" and by.loc["NOR", "admin"] == "Norway"
    assert by.loc["FRA", "iso_a3"] == "-99"  # the raw value really was -99: the fix is what made it FRA
    assert by.loc["XKX", "admin"] == "Kosovo"
    # ISO codes, not the Natural Earth ADM0 codes that differ from ISO
    for iso, adm in (("PSE", "PSX"), ("ESH", "SAH"), ("SSD", "SDS")):
        assert iso in by.index and adm not in by.index
    assert ne50.crs.to_epsg() == 4326


def test_110m_lacks_small_states_50m_has_them(ne50):
    ne110 = maps.load_countries("110m")
    assert len(ne110) == 177 and {"FRA", "NOR"} <= set(ne110["iso3"])
    assert set(SMALL_STATES) <= set(ne50["iso3"])
    assert not set(SMALL_STATES) & set(ne110["iso3"])
    # areas are plausible (equal-area km2): Malta about 316 km2, France (with overseas) > 550,000
    by = ne50.set_index("iso3")["area_km2"]
    assert 200 < by["MLT"] < 450 and by["FRA"] > 550_000


def test_un_members_in_50m_layer(ne50, un_members):
    missing = sorted(set(un_members) - set(ne50["iso3"]))
    print(f"\nUN member states without a polygon in Natural Earth 1:50m: {missing}")
    assert missing == ["TUV"]
    # ... and every missing one gets a marker position instead
    assert set(missing) <= set(maps.EXTRA_POINTS)


def test_load_countries_rejects_bad_scale():
    with pytest.raises(ParameterError, match="50m, 110m"):
        maps.load_countries("10m")


def _all_locations(fig: go.Figure) -> dict[str, set[str]]:
    """iso3 drawn per layer: topojson choropleth, NE-geojson choropleth, markers (from hover names)."""
    out = {"topo": set(), "geojson": set(), "markers": set()}
    for t in fig.data:
        if t.type == "choropleth" and t.geojson is None:
            out["topo"] |= set(t.locations)
        elif t.type == "choropleth":
            out["geojson"] |= set(t.locations)
        elif t.customdata is not None:  # the "no data" key has no data of its own
            out["markers"] |= {c[0] for c in t.customdata}
    return out


def test_choropleth_every_un_member_drawn(un_members):
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "iso3": un_members + ["XKX"],
            "v": rng.uniform(size=194),
            "act": rng.choice(["Ratification", "Accession"], 194),
        }
    )
    fig = maps.choropleth(df, "iso3", "v", hover_cols=["act"], title="t")
    locs = _all_locations(fig)
    names = maps.load_countries("50m").set_index("iso3")["name"]
    marker_iso = {
        iso
        for iso in df["iso3"]
        if names.get(iso, maps.EXTRA_POINTS.get(iso, ("", "", ""))[2]) in locs["markers"]
    }
    drawn = locs["topo"] | locs["geojson"] | marker_iso
    assert set(df["iso3"]) <= drawn, sorted(set(df["iso3"]) - drawn)
    assert "XKX" in locs["geojson"]  # Kosovo is not in the plotly topojson: drawn from Natural Earth
    assert {"MLT", "SGP", "TUV"} <= marker_iso  # small states and Tuvalu as markers
    assert "BRA" not in marker_iso
    assert "CPV" in marker_iso  # not in the 110m topojson, not small: a marker at the default resolution
    fine = _all_locations(maps.choropleth(df, "iso3", "v", resolution=50))
    assert "CPV" in fine["topo"] and "CPV" not in {i for i in df["iso3"] if names.get(i) in fine["markers"]}
    assert "CPV" in fine["topo"] and set(df["iso3"]) <= fine["topo"] | fine["geojson"] | {
        iso for iso in df["iso3"] if names.get(iso, "Tuvalu") in fine["markers"]
    }
    geo = fig.layout.geo
    assert geo.projection.type == "robinson" and geo.projection.rotation.lon == 0 and geo.resolution == 110
    t0 = fig.data[0]
    assert "act:" in t0.hovertemplate and t0.coloraxis == "coloraxis"
    i = list(t0.locations).index("PAK")
    assert t0.customdata[i][0] == "Pakistan" and t0.customdata[i][2] == df.set_index("iso3").loc["PAK", "act"]
    assert any(
        getattr(a, "name", None) == "source_note" and "Natural Earth" in a.text
        for a in fig.layout.annotations
    )


def test_choropleth_categorical_legend():
    df = pd.DataFrame({"iso3": ["FRA", "PAK", "MLT", "USA"], "status": ["party", "party", "signed", "none"]})
    fig = maps.choropleth(
        df,
        "iso3",
        "status",
        categories=["party", "signed", "none"],
        colors={"party": "#0072B2", "signed": "#56B4E9", "none": "#E69F00"},
    )
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == [
        "party",
        "signed",
        "none",
        maps.NO_DATA,
    ]  # the grey of countries without a value is keyed
    key = fig.data[-1]
    assert key.marker.color == maps.MISSING and key.marker.symbol == "square" and key.hoverinfo == "skip"
    assert "no data" not in [t.name for t in maps.choropleth(df, "iso3", "status", no_data=None).data]
    party = next(t for t in fig.data if t.type == "choropleth" and t.name == "party" and t.geojson is None)
    assert sorted(party.locations) == ["FRA", "PAK"] and party.colorscale[0][1] == "#0072B2"
    with pytest.raises(ParameterError, match="colors"):
        maps.choropleth(df, "iso3", "status", colors={"party": "#000"})


def test_choropleth_errors():
    df = pd.DataFrame({"iso3": ["FRA", "FRA"], "v": [1.0, 2.0]})
    with pytest.raises(DataError, match="more than one row per country"):
        maps.choropleth(df, "iso3", "v")
    with pytest.raises(DataError, match="not in the frame"):
        maps.choropleth(df, "iso3", "nope")
    with pytest.raises(ParameterError, match="equal earth"):
        maps.choropleth(df.iloc[:1], "iso3", "v", projection="mercator")


def test_choropleth_animated_frames():
    years = [1990, 2000, 2010]
    df = pd.DataFrame(
        [(iso, y, float(y > 1995 or iso == "NOR")) for iso in ["FRA", "NOR", "MLT"] for y in years],
        columns=["iso3", "year", "v"],
    )
    fig = maps.choropleth_animated(df, "iso3", "v", "year", title="Party")
    assert [f.name for f in fig.frames] == ["1990", "2000", "2010"]
    # frames update the value traces; the "no data" key comes after them and is not animated
    assert all(len(f.data) == len(fig.data) - 1 for f in fig.frames) and fig.data[-1].name == maps.NO_DATA
    assert [s.label for s in fig.layout.sliders[0].steps] == ["1990", "2000", "2010"]
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1  # fixed across frames
    f1990 = fig.frames[0].data[0]
    assert dict(zip(f1990.locations, f1990.z, strict=True)) == {"FRA": 0.0, "NOR": 1.0}  # MLT is a marker
    with pytest.raises(ParameterError, match="years"):
        maps.choropleth_animated(df, "iso3", "v", "year", years=[1995])


def test_choropleth_static_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.DataFrame({"iso3": ["FRA", "PAK", "MLT", "TUV"], "v": [1.0, 2.0, 3.0, 4.0]})
    fig = maps.choropleth_static(df, "iso3", "v", title="static")
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert len(ax.collections) >= 3  # base map, coloured countries, small-state markers
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------------
# issue 11, item 5: the extracted 1:50m copy follows its archive; an altered or broken archive is refused in one line
# ---------------------------------------------------------------------------------------------------------------
def _feature_collection(name: str) -> bytes:
    import json

    feature = {"type": "Feature", "properties": {"NAME": name}, "geometry": None}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


@pytest.fixture
def ne_sandbox(tmp_path, monkeypatch):
    """A raw folder with a small 1:50m archive, a registry listing its sha256, and an empty processed folder."""
    import hashlib

    import py7zr

    raw, processed = tmp_path / "raw", tmp_path / "processed"
    (raw / "naturalearth").mkdir(parents=True)
    processed.mkdir()
    monkeypatch.setattr(paths, "RAW", raw)
    monkeypatch.setattr(paths, "PROCESSED", processed)
    archive = raw / "naturalearth" / "ne_50m_admin_0_countries.7z"
    registry = tmp_path / "registry.tsv"
    monkeypatch.setattr(paths, "REGISTRY", registry)

    def put(content: bytes, register: bool = True) -> None:
        if content.startswith(b"{"):
            archive.unlink(missing_ok=True)
            with py7zr.SevenZipFile(archive, "w") as z:
                z.writestr(content, "ne_50m_admin_0_countries.json")
        else:
            archive.write_bytes(content)
        if register:
            body = archive.read_bytes()
            registry.write_text(
                "source\tfile\tsha256\tbytes\turl\torigin_repo\tcommit\tpath_in_repo\tlicence\tcitation\n"
                f"naturalearth\tnaturalearth/{archive.name}\t{hashlib.sha256(body).hexdigest()}\t{len(body)}"
                "\tu\tr\tc\tp\tl\tc\n"
            )

    return archive, processed / "naturalearth", put


def test_extracted_copy_is_rebuilt_when_its_archive_changes(ne_sandbox):
    archive, out_dir, put = ne_sandbox
    put(_feature_collection("first"))
    target = maps._extract_50m()
    assert b'"first"' in target.read_bytes()
    sidecar = out_dir / "ne_50m_admin_0_countries.json.sha256"
    assert sidecar.read_text().split()[0] == __import__("hashlib").sha256(archive.read_bytes()).hexdigest()
    put(_feature_collection("second"))  # a new archive (and its registry entry): the copy must follow it
    assert b'"second"' in maps._extract_50m().read_bytes()
    assert sorted(p.name for p in out_dir.iterdir()) == [target.name, sidecar.name]


def test_an_altered_archive_is_refused(ne_sandbox):
    archive, _, put = ne_sandbox
    put(_feature_collection("first"))
    maps._extract_50m()
    with archive.open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(
        DataError, match=r"ne_50m_admin_0_countries.7z: sha256 \w+ differs from data/registry.tsv"
    ):
        maps._extract_50m()


def test_a_broken_archive_is_one_line(ne_sandbox):
    _, out_dir, put = ne_sandbox
    put(b"not a 7z archive at all")
    with pytest.raises(DataError) as e:
        maps._extract_50m()
    msg = str(e.value)
    assert (
        "not a readable 7z archive (Bad7zFile" in msg and "\n" not in msg and "python -m helpers data" in msg
    )
    assert not out_dir.exists() or not list(out_dir.iterdir())


def test_animated_map_opens_on_the_last_year_and_waits():
    years = [1990, 2000, 2010]
    df = pd.DataFrame(
        [
            (iso, y, "party" if (y > 1995 or iso == "NOR") else "not party")
            for iso in ["FRA", "NOR"]
            for y in years
        ],
        columns=["iso3", "year", "status"],
    )
    fig = maps.choropleth_animated(
        df, "iso3", "status", "year", title="Status", categories=["party", "not party"]
    )
    slider = fig.layout.sliders[0]
    assert slider.active == 2 and fig.layout.title.text == "Status 2010"
    party = next(t for t in fig.data if t.type == "choropleth" and t.name == "party" and t.geojson is None)
    assert sorted(party.locations) == ["FRA", "NOR"]  # the data shown are 2010's, not 1990's
    play = fig.layout.updatemenus[0].buttons[0]
    assert play.args[1]["fromcurrent"] is False  # play runs the years from the first
    html = export.figure_to_html(fig, assets="assets")
    assert "Plotly.animate(" not in html  # nothing plays on load
    fig = maps.choropleth_animated(df, "iso3", "status", "year", active_year=1990)
    assert fig.layout.sliders[0].active == 0
    party = next(t for t in fig.data if t.type == "choropleth" and t.name == "party" and t.geojson is None)
    assert list(party.locations) == ["NOR"]
    with pytest.raises(ParameterError, match="active_year.*valid values: 1990, 2000, 2010"):
        maps.choropleth_animated(df, "iso3", "status", "year", active_year=1995)


def test_numeric_map_keys_not_party_and_no_data():
    df = pd.DataFrame({"iso3": ["FRA", "PAK", "MLT"], "year": [1983, 1996, 1991]})
    fig = maps.choropleth(df, "iso3", "year", others={"not party": (["USA", "IRN", "FRA"], maps.NOT_PARTY)})
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["not party", maps.NO_DATA]
    drawn = next(
        t for t in fig.data if t.type == "choropleth" and t.name == "not party" and t.geojson is None
    )
    assert sorted(drawn.locations) == ["IRN", "USA"]  # France has a value: it keeps its colour
    assert drawn.colorscale[0][1] == maps.NOT_PARTY != maps.MISSING
    assert fig.layout.legend.x == 0 and fig.layout.legend.orientation == "h"  # beside the colour bar
    with pytest.raises(ParameterError, match="others"):
        maps.choropleth(df, "iso3", "year", others={"not party": ["USA"]})


def test_status_and_reservation_colours_cover_their_categories():
    from helpers.data.reservations import RESERVATION_CATEGORIES
    from helpers.data.status import STATUS_CATEGORIES

    assert list(maps.STATUS_COLOURS) == list(STATUS_CATEGORIES)
    assert list(maps.RESERVATION_COLOURS) == list(RESERVATION_CATEGORIES)
    assert maps.MISSING not in set(maps.STATUS_COLOURS.values()) | set(maps.RESERVATION_COLOURS.values())
