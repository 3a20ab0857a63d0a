"""Both Processing algorithms through processing.run, on the demo and on real data."""
import pytest
from qgis.core import QgsApplication, QgsVectorLayer

pytestmark = pytest.mark.qgis

DEMO_LOADED, DEMO_REJECTED, DEMO_RAPID = 3468, 32, 161


@pytest.fixture(scope="module")
def demo_run(qgis_app, tmp_path_factory):
    import processing

    folder = tmp_path_factory.mktemp("demo")
    return processing.run("evcharge:demodata", {"FOLDER": str(folder)})


def test_provider_is_registered_with_both_algorithms(qgis_app):
    provider = QgsApplication.processingRegistry().providerById("evcharge")
    assert provider is not None
    ids = {algorithm.id() for algorithm in provider.algorithms()}
    assert {"evcharge:loadchargepoints", "evcharge:demodata"} <= ids


def test_demodata_writes_the_four_layers(demo_run):
    expected = {"charge_points": DEMO_LOADED, "boroughs": 33}
    for table, count in expected.items():
        layer = QgsVectorLayer(f"{demo_run['GPKG']}|layername={table}", table, "ogr")
        assert layer.isValid(), table
        assert layer.featureCount() == count
        assert layer.crs().authid() == "EPSG:27700"
    wards = QgsVectorLayer(f"{demo_run['GPKG']}|layername=wards", "wards", "ogr")
    assert 600 <= wards.featureCount() <= 720
    usage = QgsVectorLayer(f"{demo_run['GPKG']}|layername=usage", "usage", "ogr")
    assert usage.featureCount() == DEMO_LOADED * 4
    assert "synthetic" in wards.metadata().abstract().lower() or "synthetic" in wards.metadata().title().lower()
    assert (demo_run["LOADED"], demo_run["REJECTED"]) == (DEMO_LOADED, DEMO_REJECTED)


def test_loadchargepoints_on_demo_csv_gives_counts_and_bng(demo_run, tmp_path):
    import processing

    result = processing.run("evcharge:loadchargepoints", {
        "SOURCE": demo_run["CSV"],
        "OUTPUT": str(tmp_path / "points.gpkg"),
        "REPORT": str(tmp_path / "report.csv"),
    })
    assert (result["LOADED"], result["REJECTED"]) == (DEMO_LOADED, DEMO_REJECTED)
    points = QgsVectorLayer(result["OUTPUT"], "points", "ogr")
    assert points.featureCount() == DEMO_LOADED
    assert points.crs().authid() == "EPSG:27700"
    assert sum(1 for f in points.getFeatures() if f["speed_band"] == "rapid") == DEMO_RAPID
    report = QgsVectorLayer(result["REPORT"], "report", "ogr")
    rejected = [f for f in report.getFeatures() if f["severity"] == "rejected"]
    assert len(rejected) == DEMO_REJECTED
    assert all(f["reason"] and str(f["record"]).strip() for f in rejected)


def test_loadchargepoints_on_the_real_registry_snapshot(qgis_app, real_data):
    import processing

    result = processing.run("evcharge:loadchargepoints", {
        "SOURCE": str(real_data / "ncr_snapshot_2017.csv"),
        "BOUNDARY": str(real_data / "london_boroughs_wgs84.geojson"),
        "OUTPUT": "TEMPORARY_OUTPUT",
        "REPORT": "TEMPORARY_OUTPUT",
    })
    points = result["OUTPUT"]
    assert result["LOADED"] == points.featureCount() == 3962
    assert points.crs().authid() == "EPSG:27700"
    in_london = sum(1 for f in points.getFeatures() if f["in_london"])
    assert in_london == 677
    # The points are drawn from the easting/northing columns, so each must sit exactly there.
    assert all((f.geometry().asPoint().x(), f.geometry().asPoint().y()) == (f["easting"], f["northing"]) for f in points.getFeatures())
    rejected_ids = {f["chargepoint_id"] for f in result["REPORT"].getFeatures() if f["severity"] == "rejected"}
    assert any(i.startswith("d14136bf") for i in rejected_ids)
    assert any(i.startswith("6dada9cb") for i in rejected_ids)


def test_unknown_file_fails_with_a_clear_message(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("evcharge:loadchargepoints", {"SOURCE": str(bad), "OUTPUT": "TEMPORARY_OUTPUT", "REPORT": "TEMPORARY_OUTPUT"})
    assert "notes.txt" in str(raised.value)
