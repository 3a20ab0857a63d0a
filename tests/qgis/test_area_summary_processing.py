"""evcharge:areasummary through processing.run: the demo archive, the real registry and boroughs, bad input."""
import json

import pandas as pd
import pytest
from demo_data import demo_layers
from qgis.core import QgsGeometry, QgsProcessingException, QgsVectorLayer

pytestmark = pytest.mark.qgis

Q3 = ("2024-07-01", "2024-10-01")


def run(**parameters):
    import processing

    parameters.setdefault("OUTPUT", "TEMPORARY_OUTPUT")
    return processing.run("evcharge:areasummary", parameters)


@pytest.fixture(scope="module")
def demo(demo_files):
    """The demo's layers, and the archive holding its usage."""
    gpkg, archive = demo_files
    layers = demo_layers(gpkg, "charge_points", "boroughs", "wards", "usage")
    yield layers, archive
    layers.clear()


def by_name(layer, field="name"):
    return {feature[field]: feature for feature in layer.getFeatures()}


def hand_count(points, areas, field="name"):
    """Charge point ids inside each area, by QGIS's own geometry test (independent of the algorithm's)."""
    inside = {}
    for area in areas.getFeatures():
        geometry = QgsGeometry(area.geometry())
        engine = QgsGeometry.createGeometryEngine(geometry.constGet())
        engine.prepareGeometry()
        inside[area[field]] = {point["chargepoint_id"] for point in points.getFeatures(area.geometry().boundingBox())
                               if engine.contains(point.geometry().constGet())}
    return inside


def test_borough_counts_and_sums_match_hand_counts_for_the_period(demo):
    layers, archive = demo
    result = run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], ARCHIVE=str(archive),
                 PERIOD_START=Q3[0], PERIOD_END=Q3[1])
    summary = by_name(result["OUTPUT"])
    assert len(summary) == 33 and result["PERIOD"] == "Q3 2024"
    inside = hand_count(layers["charge_points"], layers["boroughs"])
    usage = pd.DataFrame([(f["chargepoint_id"], f["period_start"].date().toString("yyyy-MM-dd"),
                           f["sessions"], f["occupied_hours"], f["available_hours"]) for f in layers["usage"].getFeatures()],
                         columns=["chargepoint_id", "period_start", "sessions", "occupied_hours", "available_hours"])
    q3 = usage[usage["period_start"] == Q3[0]].set_index("chargepoint_id")
    for name, ids in inside.items():
        area = summary[name]
        assert area["chargepoints"] == len(ids), name
        rows = q3.reindex(sorted(ids)).dropna()
        assert area["sessions"] == pytest.approx(rows["sessions"].sum()), name
        assert area["occupancy_pct"] == pytest.approx(rows["occupied_hours"].sum() / rows["available_hours"].sum() * 100), name
    assert result["CHARGEPOINTS"] + result["OUTSIDE"] == layers["charge_points"].featureCount()
    total = json.loads(result["TOTAL"])
    assert total["chargepoints"] == sum(len(ids) for ids in inside.values())
    assert total["sessions"] == pytest.approx(sum(f["sessions"] for f in summary.values()))
    bands = sum(summary["Westminster"][field] for field in ("slow_count", "fast_count", "rapid_count", "ultra_rapid_count"))
    assert bands == summary["Westminster"]["chargepoints"]


def test_period_changes_the_figures_and_trends_cover_every_quarter(demo):
    layers, archive = demo
    q2 = run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], ARCHIVE=str(archive), PERIOD_START="2024-04-01", PERIOD_END="2024-07-01",
             TRENDS="TEMPORARY_OUTPUT")
    q3 = run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], ARCHIVE=str(archive), PERIOD_START=Q3[0], PERIOD_END=Q3[1])
    q2_sessions = {f["name"]: f["sessions"] for f in q2["OUTPUT"].getFeatures()}
    q3_sessions = {f["name"]: f["sessions"] for f in q3["OUTPUT"].getFeatures()}
    assert q2_sessions != q3_sessions
    trends = list(q2["TRENDS"].getFeatures())
    westminster = [f for f in trends if f["area_name"] == "Westminster"]
    assert len(westminster) == 4  # every archived quarter, whatever the chosen period
    april = next(f for f in westminster if f["period_start"].date().toString("yyyy-MM-dd") == "2024-04-01")
    assert april["sessions"] == pytest.approx(q2_sessions["Westminster"])
    totals = [f for f in trends if f["scope"] == "total"]
    assert len(totals) == 4
    assert sum(f["sessions"] for f in totals if f["period_start"].date().toString("yyyy-MM-dd") == "2024-04-01") == pytest.approx(sum(q2_sessions.values()))


def test_wards_with_households_get_rates_and_empty_wards_get_zeros(demo):
    layers, archive = demo
    result = run(POINTS=layers["charge_points"], AREAS=layers["wards"], ARCHIVE=str(archive), PERIOD_START=Q3[0], PERIOD_END=Q3[1],
                 POINT_AREAS="TEMPORARY_OUTPUT", OPERATORS="TEMPORARY_OUTPUT")
    wards = list(result["OUTPUT"].getFeatures())
    assert len(wards) == layers["wards"].featureCount()
    for ward in wards[:50]:
        assert ward["chargepoints_per_1k_households_no_offstreet"] == pytest.approx(ward["chargepoints"] / ward["households_no_offstreet"] * 1000)
    empty = [ward for ward in wards if ward["chargepoints"] == 0]
    for ward in empty:
        assert (ward["sessions"], ward["slow_count"], ward["energy_kwh"]) == (0, 0, 0)
    point_areas = {f["fid"]: f["area_name"] for f in result["POINT_AREAS"].getFeatures()}
    assert len(point_areas) == layers["charge_points"].featureCount()
    some = next(layers["charge_points"].getFeatures())
    ward_of = [w["name"] for w in layers["wards"].getFeatures() if w.geometry().contains(some.geometry())]
    assert point_areas[some.id()] == (ward_of[0] if ward_of else None)
    operators = list(result["OPERATORS"].getFeatures())
    london = [f for f in operators if f["scope"] == "total"]
    assert sum(f["chargepoints"] for f in london) == result["CHARGEPOINTS"]
    assert sum(f["share_of_sessions_pct"] for f in london) == pytest.approx(100.0)


def test_real_registry_in_wgs84_boroughs_gives_the_known_counts(qgis_app, real_data):
    import processing

    loaded = processing.run("evcharge:loadchargepoints", {"SOURCE": str(real_data / "ncr_snapshot_2017.csv"), "OUTPUT": "TEMPORARY_OUTPUT",
                                                          "REPORT": "TEMPORARY_OUTPUT"})
    boroughs = QgsVectorLayer(str(real_data / "london_boroughs_wgs84.geojson"), "boroughs", "ogr")
    assert boroughs.crs().authid() == "EPSG:4326"
    result = run(POINTS=loaded["OUTPUT"], AREAS=boroughs, AREA_NAME_FIELD="NAME")
    counts = {f["NAME"]: f["chargepoints"] for f in result["OUTPUT"].getFeatures()}
    assert (counts["Westminster"], counts["Newham"], counts["City of London"], counts["Merton"]) == (107, 63, 26, 2)
    assert (result["CHARGEPOINTS"], result["OUTSIDE"]) == (677, 3962 - 677)
    assert result["OUTPUT"].crs().authid() == "EPSG:4326"  # the areas keep their own CRS
    first = next(result["OUTPUT"].getFeatures())
    assert first["sessions"] == 0 and first["GSS_CODE"]  # counts alone, and the areas' own fields kept


def test_without_an_archive_the_layer_sums_are_used(demo):
    import processing

    layers, archive = demo
    layer = processing.run("evcharge:utilisation", {"ARCHIVE": str(archive), "PERIOD_START": Q3[0], "PERIOD_END": Q3[1],
                                                    "BY_PERIOD": False, "METRIC": 0, "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]
    from_layer = by_name(run(POINTS=layer, AREAS=layers["boroughs"])["OUTPUT"])
    from_archive = by_name(run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], ARCHIVE=str(archive), PERIOD_START=Q3[0], PERIOD_END=Q3[1])["OUTPUT"])
    for name in ("Westminster", "Camden", "Bexley"):
        assert from_layer[name]["occupancy_pct"] == pytest.approx(from_archive[name]["occupancy_pct"])
        assert from_layer[name]["kwh_per_day"] == pytest.approx(from_archive[name]["kwh_per_day"])

    by_period = processing.run("evcharge:utilisation", {"ARCHIVE": str(archive), "BY_PERIOD": True, "METRIC": 0, "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]
    with pytest.raises(QgsProcessingException, match="one feature per period"):
        run(POINTS=by_period, AREAS=layers["boroughs"])
    chosen = run(POINTS=by_period, AREAS=layers["boroughs"], PERIOD_START=Q3[0], PERIOD_END=Q3[1], TRENDS="TEMPORARY_OUTPUT")
    assert by_name(chosen["OUTPUT"])["Camden"]["occupancy_pct"] == pytest.approx(from_archive["Camden"]["occupancy_pct"])
    # The trends hold every period of the layer, each feature in its own area.
    camden = {f["period_start"].date().toString("yyyy-MM-dd"): f["occupancy_pct"] for f in chosen["TRENDS"].getFeatures() if f["area_name"] == "Camden"}
    assert len(camden) == 4 and camden[Q3[0]] == pytest.approx(from_archive["Camden"]["occupancy_pct"])


def test_bad_input_gives_clear_messages(demo, tmp_path):
    layers, archive = demo
    with pytest.raises(QgsProcessingException, match="ends .* before it starts"):
        run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], ARCHIVE=str(archive), PERIOD_START=Q3[1], PERIOD_END=Q3[0])
    with pytest.raises(QgsProcessingException, match="does not exist"):
        run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], ARCHIVE=str(tmp_path / "nowhere.gpkg"))
    with pytest.raises(QgsProcessingException, match="usage by period"):
        run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], TRENDS="TEMPORARY_OUTPUT")
    with pytest.raises(QgsProcessingException):
        run(POINTS=layers["charge_points"], AREAS=layers["boroughs"], AREA_NAME_FIELD="borough_name")
