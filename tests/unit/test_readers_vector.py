"""GeoPackage, GeoJSON and Shapefile layers, plain and zipped, written here with geopandas."""
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, Polygon

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers.vector import is_british_national_grid, read_vector
from ev_charge_plugin.core.report import FLAGGED, REJECTED, REPAIRED, WARNING

ESRI_BNG_PRJ = (
    'PROJCS["British_National_Grid",GEOGCS["GCS_OSGB_1936",DATUM["D_OSGB_1936",'
    'SPHEROID["Airy_1830",6377563.396,299.3249646]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",400000.0],PARAMETER["False_Northing",-100000.0],'
    'PARAMETER["Central_Meridian",-2.0],PARAMETER["Scale_Factor",0.9996012717],'
    'PARAMETER["Latitude_Of_Origin",49.0],UNIT["Meter",1.0]]'
)
BNG_PROJ = "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 +y_0=-100000 +ellps=airy +units=m +no_defs"
# An old three-parameter datum shift: the definition names no EPSG code.
BNG_PROJ_OLD_SHIFT = BNG_PROJ + " +towgs84=375,-111,431,0,0,0,0"
SHAPEFILE_PARTS = ("shp", "shx", "dbf", "prj", "cpg")


def bng_to_wgs84(x, y):
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(x, y)
    return lat, lon


def layer(geometries, crs, **columns):
    return gpd.GeoDataFrame(columns, geometry=list(geometries), crs=crs)


def write_shapefile(frame, folder, stem, prj=None):
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_file(folder / f"{stem}.shp")
    prj_path = folder / f"{stem}.prj"
    if prj is None:
        prj_path.unlink(missing_ok=True)
    else:
        prj_path.write_text(prj)
    return folder / f"{stem}.shp"


def zip_shapefiles(zip_path, shapefiles, prefix=""):
    with zipfile.ZipFile(zip_path, "w") as archive:
        for shapefile in shapefiles:
            for part in SHAPEFILE_PARTS:
                file = shapefile.with_suffix(f".{part}")
                if file.exists():
                    archive.write(file, f"{prefix}{file.name}")
    return zip_path


@pytest.fixture
def esri_shapefile(tmp_path):
    frame = layer([Point(530000, 180000), Point(531000.5, 181000.25)], None, cp_id=["S1", "S2"], kw=[7.0, 22.0])
    return write_shapefile(frame, tmp_path / "shp", "points", prj=ESRI_BNG_PRJ)


@pytest.mark.parametrize("definition, expected", [
    ("EPSG:27700", True),
    (ESRI_BNG_PRJ, True),
    (BNG_PROJ, True),
    (BNG_PROJ_OLD_SHIFT, True),
    ("EPSG:4326", False),
    ("EPSG:32630", False),
    (BNG_PROJ.replace("+ellps=airy", "+ellps=GRS80"), False),
    (BNG_PROJ.replace("+lon_0=-2", "+lon_0=-3"), False),
])
def test_british_national_grid_is_recognised_by_parameters(definition, expected):
    assert is_british_national_grid(CRS.from_user_input(definition)) is expected


def test_geopackage_in_bng_with_generic_field_names(tmp_path):
    path = tmp_path / "points.gpkg"
    layer(
        [Point(530000, 180000), Point(531000, 181000), Point(532000, 182000)], 27700,
        ChargePoint_ID=[101, 102, 101], NAME=["A", "B", "C"], Operator=["Op", "Op", "Op"],
        Power=[7.0, 50.0, 3.0], Connectors=[2, 1, 1], On_Street=["yes", "no", "yes"], Status=["AVAILABLE"] * 3,
    ).to_file(path, driver="GPKG")
    result = read_vector(path)
    points = result.chargepoints.set_index("chargepoint_id")
    assert list(points.index) == ["101", "102"]
    assert list(points["power_kw"]) == [7.0, 50.0] and list(points["speed_band"]) == ["slow", "rapid"]
    assert list(points["connectors"]) == [2, 1] and list(points["on_street"]) == [True, False]
    assert (points.at["101", "latitude"], points.at["101", "longitude"]) == pytest.approx(bng_to_wgs84(530000, 180000))
    assert (result.chargepoints.geometry.x.iloc[0], result.chargepoints.geometry.y.iloc[0]) == pytest.approx((530000, 180000), abs=0.01)
    [duplicate] = result.report.problems
    assert (duplicate.record, duplicate.severity) == (3, REJECTED) and duplicate.reason.startswith("Duplicate id 101")


def test_geojson_in_wgs84_with_other_geometries(tmp_path):
    path = tmp_path / "points.geojson"
    square = Polygon([(-0.101, 51.501), (-0.099, 51.501), (-0.099, 51.499), (-0.101, 51.499)])
    layer(
        [Point(-0.1278, 51.5074), square, None, None, LineString([(-0.2, 51.4), (-0.2, 51.6)]), Point(-3.703373, 40.416288)], 4326,
        chargeDeviceID=["G1", "G2", "G3", "G4", "G5", "G6"], kw=[7.0, 22.0, 50.0, 7.0, None, 7.0],
        lat=[None, None, 51.45, None, None, None], lng=[None, None, -0.05, None, None, None],
    ).to_file(path, driver="GeoJSON")
    result = read_vector(path)
    points = result.chargepoints.set_index("chargepoint_id")
    assert list(points.index) == ["G1", "G2", "G3", "G5"]
    assert (points.at["G1", "latitude"], points.at["G1", "longitude"]) == pytest.approx((51.5074, -0.1278))
    assert (points.at["G2", "latitude"], points.at["G2", "longitude"]) == pytest.approx((51.5, -0.1), abs=1e-6)
    assert (points.at["G3", "latitude"], points.at["G3", "longitude"]) == (51.45, -0.05)
    assert points.at["G5", "longitude"] == pytest.approx(-0.2, abs=1e-4)
    assert [(p.field, p.severity) for p in result.report.of_record(2)] == [("geometry", REPAIRED)]
    assert result.report.of_record(2)[0].reason == "The feature is a Polygon, not a point; its centroid was used."
    assert [(p.field, p.severity) for p in result.report.of_record(3)] == [("geometry", FLAGGED)]
    assert [(p.severity, p.reason) for p in result.report.of_record(4)] == [(REJECTED, "Coordinates are missing.")]
    assert "LineString" in result.report.of_record(5)[0].reason
    assert result.report.of_record(6)[0].reason == "Coordinates (40.416288, -3.703373) lie outside the United Kingdom."


def test_shapefile_with_esri_prj_is_read_as_epsg_27700(esri_shapefile):
    result = read_vector(esri_shapefile)
    assert list(result.chargepoints["chargepoint_id"]) == ["S1", "S2"]
    assert list(result.chargepoints["power_kw"]) == [7.0, 22.0]
    geometry = result.chargepoints.geometry
    assert list(geometry.x) == pytest.approx([530000, 531000.5], abs=0.01)
    assert list(geometry.y) == pytest.approx([180000, 181000.25], abs=0.01)
    assert result.chargepoints.loc[0, "latitude"] == pytest.approx(bng_to_wgs84(530000, 180000)[0], abs=1e-9)
    assert result.report.problems == []


def test_custom_bng_definition_gets_the_epsg_datum_shift(tmp_path):
    # Read with its own old datum shift this point would land about 6 m away.
    frame = layer([Point(530000, 180000)], BNG_PROJ_OLD_SHIFT, id=["P1"])
    path = tmp_path / "custom.gpkg"
    frame.to_file(path, driver="GPKG")
    assert gpd.read_file(path).crs.to_epsg() is None
    own_lat, own_lon = Transformer.from_crs(CRS.from_user_input(BNG_PROJ_OLD_SHIFT), 4326, always_xy=True).transform(530000, 180000)[::-1]
    point = read_vector(path).chargepoints.iloc[0]
    assert (point["latitude"], point["longitude"]) == pytest.approx(bng_to_wgs84(530000, 180000), abs=1e-9)
    assert abs(point["latitude"] - own_lat) > 4e-5


def test_zipped_shapefile_by_plain_and_vsizip_paths(esri_shapefile, tmp_path):
    archive = zip_shapefiles(tmp_path / "points.zip", [esri_shapefile], prefix="data/")
    for path in (archive, f"/vsizip/{archive}", f"/vsizip/{archive}/data/points.shp", f"/vsizip/{archive}/data"):
        result = read_vector(path)
        assert list(result.chargepoints["chargepoint_id"]) == ["S1", "S2"], path


def test_zip_with_several_layers_needs_a_layer_name(esri_shapefile, tmp_path):
    other = write_shapefile(layer([Point(540000, 170000)], 27700, id=["O1"], kw=[50.0]), tmp_path / "other", "rapid", prj=ESRI_BNG_PRJ)
    archive = zip_shapefiles(tmp_path / "two.zip", [esri_shapefile, other])
    with pytest.raises(SourceError) as raised:
        read_vector(archive)
    assert "points.shp" in str(raised.value) and "rapid.shp" in str(raised.value)
    assert list(read_vector(archive, layer="rapid").chargepoints["chargepoint_id"]) == ["O1"]


def test_geopackage_with_several_layers_needs_a_layer_name(tmp_path):
    path = tmp_path / "two.gpkg"
    layer([Point(530000, 180000)], 27700, id=["A"]).to_file(path, layer="first", driver="GPKG")
    layer([Point(531000, 181000)], 27700, id=["B"]).to_file(path, layer="second", driver="GPKG")
    with pytest.raises(SourceError, match="first, second"):
        read_vector(path)
    assert list(read_vector(path, layer="second").chargepoints["chargepoint_id"]) == ["B"]


@pytest.mark.parametrize("points, epsg", [
    ([Point(530000, 180000)], 27700),
    ([Point(-0.1278, 51.5074)], 4326),
])
def test_layer_without_crs_is_guessed_with_a_warning(tmp_path, points, epsg):
    path = write_shapefile(layer(points, None, id=["N1"], kw=[7.0]), tmp_path, "nocrs")
    result = read_vector(path)
    assert result.chargepoints["latitude"].iloc[0] == pytest.approx(51.5, abs=0.01)
    [warning] = result.report.problems
    assert (warning.severity, warning.record) == (WARNING, None)
    assert f"EPSG:{epsg} was assumed" in warning.reason


def test_tfl_rapid_sites_layout(tmp_path):
    path = tmp_path / "tfl_rapid.gpkg"
    layer(
        [Point(530000, 180000), None], 27700,
        siteid=[17, 18], sitename=["Bloomsbury Square", "Stratford"], borough=["Camden", "Newham"],
        numberrcpoints=[3, 2], taxipublicuses=["Taxi", "Public"], latitude=[None, 51.5416], longtitude=[None, -0.0034],
    ).to_file(path, driver="GPKG")
    result = read_vector(path)
    points = result.chargepoints.set_index("chargepoint_id")
    assert list(points.index) == ["17", "18"]
    assert list(points["name"]) == ["Bloomsbury Square", "Stratford"]
    assert list(points["connectors"]) == [3, 2]
    assert list(points["power_kw"]) == [50.0, 50.0] and set(points["speed_band"]) == {"rapid"}
    assert points.at["18", "longitude"] == -0.0034
    [power_note] = [p for p in result.report.problems if p.field == "power_kw"]
    assert power_note.severity == WARNING and "numberrcpoints" in power_note.reason


def test_layer_without_an_id_field_is_refused(tmp_path):
    path = tmp_path / "anonymous.geojson"
    layer([Point(-0.1, 51.5)], 4326, label=["x"]).to_file(path, driver="GeoJSON")
    with pytest.raises(SourceError, match="no charge point id field"):
        read_vector(path)


def test_geojson_bytes_and_unreadable_input(tmp_path):
    path = tmp_path / "one.geojson"
    layer([Point(-0.1278, 51.5074)], 4326, id=["B1"], power_kw=[11.0]).to_file(path, driver="GeoJSON")
    result = read_vector(path.read_bytes())
    assert list(result.chargepoints["chargepoint_id"]) == ["B1"] and result.chargepoints["source"].iloc[0] == "vector layer"
    with pytest.raises(SourceError, match="is not a vector layer"):
        read_vector(b"\x00\x01 not a layer")
    with pytest.raises(SourceError, match="no such file"):
        read_vector(tmp_path / "missing.gpkg")
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    with pytest.raises(SourceError, match="not a readable zip"):
        read_vector(tmp_path / "broken.zip")


def test_layer_in_a_local_crs_is_refused(tmp_path):
    path = write_shapefile(layer([Point(1, 2)], None, id=["L1"]), tmp_path, "local", prj='LOCAL_CS["arbitrary",UNIT["metre",1]]')
    with pytest.raises(SourceError, match="cannot be converted to latitude and longitude"):
        read_vector(path)


@pytest.mark.filterwarnings("ignore:You are attempting to write an empty DataFrame")
def test_empty_layer_gives_an_empty_frame(tmp_path):
    path = tmp_path / "empty.gpkg"
    layer([Point(530000, 180000)], 27700, id=["X"]).iloc[:0].to_file(path, driver="GPKG")
    result = read_vector(path)
    assert result.loaded == 0 and result.report.problems == [] and result.chargepoints.crs.to_epsg() == 27700


def test_integer_fields_with_gaps_keep_integer_ids(tmp_path):
    path = tmp_path / "gaps.gpkg"
    layer([Point(530000, 180000), Point(531000, 181000)], 27700, id=[5.0, None], on_street=[1.0, 0.0], name=["a", "b"]).to_file(path, driver="GPKG")
    result = read_vector(path)
    assert list(result.chargepoints["chargepoint_id"]) == ["5"]
    assert bool(result.chargepoints["on_street"].iloc[0]) is True
    assert [(p.record, p.reason) for p in result.report.problems] == [(2, "The charge point id is missing.")]
    assert pd.isna(result.chargepoints["power_kw"].iloc[0])
