"""Importing usage and styling by utilisation, through processing.run: real files, a real archive, values checked."""
import re
import shutil

import pytest
from qgis.PyQt.QtCore import QDate, QDateTime, QTime
from qgis.core import (
    QgsApplication,
    QgsExpression,
    QgsExpressionContextUtils,
    QgsFeatureRequest,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsRenderContext,
    QgsSettings,
    QgsStyle,
    QgsSymbolLayer,
    QgsTemporalNavigationObject,
    QgsTemporalUtils,
    QgsUnitTypes,
    QgsVectorLayerTemporalContext,
)

pytestmark = pytest.mark.qgis

DEMO_REGISTERED, DEMO_IMPORTED = 3468, 3468 * 4
QUARTER_STARTS = ["2023-10-01", "2024-01-01", "2024-04-01", "2024-07-01"]

CHARGEPOINTS_CSV = (
    "chargepoint_id,name,operator,latitude,longitude,easting,northing,power_kw,connectors,connector_types,status,on_street,scheme\n"
    "A1,Lamp post 1,Op,51.5010,-0.1420,,,7,1,Type 2,AVAILABLE,yes,GULCS\n"
    "A2,Rapid hub,Op,,,530000,180000,50,2,CCS;CHAdeMO,AVAILABLE,no,TfL rapid\n"
    "A3,Bollard,Op,51.52,-0.10,,,7,1,Type 2,AVAILABLE,yes,GULCS\n"
)
RETURN_HEADER = "chargepoint_id,period_start,period_end,sessions,energy_kwh,occupied_hours,charging_hours,available_hours\n"
RETURN_CSV = (
    RETURN_HEADER
    + "A1,2024-07-01,2024-09-30,40,300.5,500,400,2208\n"
    + "A2,2024-07-01,2024-09-30,120,2500,900,800,4416\n"
    + "Z9,2024-07-01,2024-09-30,3,10,5,4,2208\n"  # line 4: a charge point nobody registered
)
CORRECTED_CSV = (
    RETURN_HEADER
    + "A1,2024-07-01,2024-09-30,44,320.5,550,420,2208\n"  # corrected figures
    + "A2,2024-07-01,2024-09-30,120,2500,900,800,4416\n"  # as before
)


def run(algorithm, **parameters):
    import processing

    return processing.run(algorithm, parameters)


def import_usage(usage, archive, chargepoints="", period=0):
    return run("evcharge:importusage", INPUT=str(usage), CHARGEPOINTS=str(chargepoints), ARCHIVE=str(archive),
               PERIOD=period, REPORT="TEMPORARY_OUTPUT")


def utilisation(archive, start="", end="", by_period=False, metric=0):
    return run("evcharge:utilisation", ARCHIVE=str(archive), PERIOD_START=start, PERIOD_END=end, BY_PERIOD=by_period,
               METRIC=metric, OUTPUT="TEMPORARY_OUTPUT")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EVCHARGE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# -- importusage on small files ------------------------------------------------------------------------------

def test_import_counts_rejects_unknown_id_and_is_idempotent(qgis_app, tmp_path, cache):
    points = write(tmp_path / "points.csv", CHARGEPOINTS_CSV)
    usage = write(tmp_path / "q3.csv", RETURN_CSV)
    archive = tmp_path / "history.gpkg"

    result = import_usage(usage, archive, points)
    assert archive.is_file()
    assert (result["IMPORTED"], result["REPLACED"], result["UNCHANGED"], result["REJECTED"], result["REGISTERED"]) == (2, 0, 0, 1, 3)
    assert "2 rows imported" in result["SUMMARY"] and "1 rejected" in result["SUMMARY"]
    report = result["REPORT"]
    rejected = [(f["chargepoint_id"], f["record"], f["severity"]) for f in report.getFeatures() if f["severity"] == "rejected"]
    assert rejected == [("Z9", 4, "rejected")]
    assert all(f["reason"] for f in report.getFeatures())

    again = import_usage(usage, archive, points)
    assert "already imported" in again["SUMMARY"]
    assert (again["IMPORTED"], again["REPLACED"]) == (0, 0)

    corrected = import_usage(write(tmp_path / "q3_corrected.csv", CORRECTED_CSV), archive)
    assert (corrected["IMPORTED"], corrected["REPLACED"], corrected["UNCHANGED"], corrected["REJECTED"]) == (0, 1, 1, 0)

    # The archive now holds the corrected figures for A1.
    output = utilisation(archive, "2024-07-01", "2024-10-01")["OUTPUT"]
    values = {f["chargepoint_id"]: (f["sessions"], f["occupancy_pct"]) for f in output.getFeatures()}
    assert values["A1"] == (44, pytest.approx(550 / 2208 * 100))
    assert values["A2"] == (120, pytest.approx(900 / 4416 * 100))


def test_import_from_a_public_datastore_dataset(qgis_app, tmp_path, cache, httpserver, monkeypatch):
    slug = "borough-usage-returns"
    serve_usage_dataset(httpserver, monkeypatch, slug)
    points = write(tmp_path / "points.csv", CHARGEPOINTS_CSV)
    result = import_usage(f"datastore:{slug}", tmp_path / "history.gpkg", points)
    assert (result["IMPORTED"], result["REJECTED"], result["REGISTERED"]) == (2, 1, 3)
    assert [request.path for request, _ in httpserver.log] == [f"/api/dataset/{slug}", f"/download/{slug}/r1/q3.csv"]
    assert result["SUMMARY"].startswith("usage return: 2 rows imported")


def serve_usage_dataset(httpserver, monkeypatch, slug, key=None):
    """A Datastore-shaped dataset holding RETURN_CSV; with ``key`` it answers 403 to requests without it."""
    from werkzeug import Response

    metadata = {"id": slug, "resources": {
        "r1": {"title": "Usage return Q3 2024", "format": "csv", "order": 0, "check_timestamp": "2024-10-20T10:00:00",
               "url": httpserver.url_for(f"/download/{slug}/r1/q3.csv")},
    }}

    def guarded(body, content_type):
        def handler(request):
            if key is not None and request.headers.get("Authorization") != key:
                return Response("Forbidden", status=403)
            return Response(body, content_type=content_type)
        return handler

    import json

    httpserver.expect_request(f"/api/dataset/{slug}").respond_with_handler(guarded(json.dumps(metadata), "application/json"))
    httpserver.expect_request(f"/download/{slug}/r1/q3.csv").respond_with_handler(guarded(RETURN_CSV, "text/csv"))
    monkeypatch.setenv("EVCHARGE_DATASTORE_URL", httpserver.url_for("/").rstrip("/"))


@pytest.fixture
def api_key(qgis_app):
    """Store an API key in the (test) auth database and point the plugin's settings at it; undone afterwards."""
    from ev_charge_plugin.qgis_io.auth import store_api_key
    from ev_charge_plugin.toolbelt.settings import PluginSettings

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("evcharge-tests", True)
    key = "private-usage-k3y"
    authcfg = store_api_key(key)
    before = PluginSettings.load()
    PluginSettings(authcfg=authcfg).save()
    yield key
    before.save()
    manager.removeAuthenticationConfig(authcfg)


def test_import_from_a_private_datastore_dataset_sends_the_key(qgis_app, tmp_path, cache, httpserver, monkeypatch, api_key):
    slug = "private-usage-returns"
    serve_usage_dataset(httpserver, monkeypatch, slug, key=api_key)
    result = import_usage(f"datastore:{slug}", tmp_path / "history.gpkg", write(tmp_path / "points.csv", CHARGEPOINTS_CSV))
    assert (result["IMPORTED"], result["REJECTED"]) == (2, 1)
    metadata = [request for request, _ in httpserver.log if request.path == f"/api/dataset/{slug}"]
    assert metadata and all(request.headers.get("Authorization") == api_key for request in metadata)


def test_private_datastore_dataset_without_a_key_fails_clearly(qgis_app, tmp_path, cache, httpserver, monkeypatch):
    from ev_charge_plugin.toolbelt.settings import PluginSettings

    assert PluginSettings.load().authcfg == ""
    slug = "private-usage-returns"
    serve_usage_dataset(httpserver, monkeypatch, slug, key="only-with-this")
    archive = tmp_path / "history.gpkg"
    with pytest.raises(QgsProcessingException) as raised:
        import_usage(f"datastore:{slug}", archive, write(tmp_path / "points.csv", CHARGEPOINTS_CSV))
    message = str(raised.value)
    assert "403" in message and "private dataset" in message and "API key" in message
    assert [request.path for request, _ in httpserver.log] == [f"/api/dataset/{slug}"]


# -- the demo archive --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_archive(qgis_app, tmp_path_factory):
    """The demo's charge points and four quarters of usage imported into a fresh archive, once for the module."""
    folder = tmp_path_factory.mktemp("demo_archive")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVCHARGE_CACHE_DIR", str(folder / "cache"))
        result = import_usage("demo", folder / "history.gpkg", "demo")
    return folder / "history.gpkg", result


@pytest.fixture(scope="module")
def demo_usage():
    from ev_charge_plugin.core.demo import build_demo

    return build_demo().usage


def test_demo_import_registers_and_imports_everything(demo_archive):
    _, result = demo_archive
    assert (result["REGISTERED"], result["IMPORTED"]) == (DEMO_REGISTERED, DEMO_IMPORTED)
    assert (result["REPLACED"], result["UNCHANGED"], result["REJECTED"]) == (0, 0, 0)
    assert "13,872 rows imported" in result["SUMMARY"]


def test_utilisation_for_q3_matches_the_source_usage(demo_archive, demo_usage):
    archive, _ = demo_archive
    result = utilisation(archive, "2024-07-01", "2024-10-01")
    layer = result["OUTPUT"]
    assert result["PERIOD"] == "Q3 2024"
    assert layer.featureCount() == DEMO_REGISTERED
    ids = [f["chargepoint_id"] for f in layer.getFeatures()]
    assert len(set(ids)) == DEMO_REGISTERED
    names = layer.fields().names()
    for field in ("occupancy_pct", "charging_pct", "capacity_factor_pct", "sessions_per_day", "kwh_per_day"):
        assert field in names
    assert layer.crs().authid() == "EPSG:27700"

    # By hand, from the demo's own usage frame (period_end exclusive there).
    q3 = demo_usage[demo_usage["period_start"] == "2024-07-01"].set_index("chargepoint_id")
    features = {f["chargepoint_id"]: f for f in layer.getFeatures()}
    for chargepoint_id in ("DEMO-000001", q3.index[1000], q3.index[-1]):
        row = q3.loc[chargepoint_id]
        feature = features[chargepoint_id]
        assert feature["occupancy_pct"] == pytest.approx(row["occupied_hours"] / row["available_hours"] * 100)
        assert feature["sessions_per_day"] == pytest.approx(row["sessions"] / 92)
        assert feature["kwh_per_day"] == pytest.approx(row["energy_kwh"] / 92)
        assert feature["period_start"].date() == QDate(2024, 7, 1) and feature["period_end"].date() == QDate(2024, 10, 1)
    # Every charge point is a point where the archive has it.
    extent = layer.extent()
    assert not extent.isEmpty() and 503000 < extent.xMinimum() < extent.xMaximum() < 562000
    assert all(not f.geometry().isNull() for f in layer.getFeatures())


def test_utilisation_loaded_by_processing_is_styled_by_the_chosen_metric(demo_archive):
    """As the Processing toolbox loads it: through the algorithm's post-processor, after the algorithm itself is gone."""
    import gc

    import processing

    from ev_charge_plugin.qgis_io.symbology import metric_rules

    archive, _ = demo_archive
    project = QgsProject.instance()
    try:
        result = processing.runAndLoadResults("evcharge:utilisation", {
            "ARCHIVE": str(archive), "PERIOD_START": "2024-07-01", "PERIOD_END": "2024-10-01", "METRIC": 2, "OUTPUT": "TEMPORARY_OUTPUT"})
        gc.collect()
        layer = project.mapLayer(result["OUTPUT"])
        assert layer.name() == "Charge points: Capacity factor %, Q3 2024"
        assert "capacity_factor_pct" in metric_rules(layer.renderer())[0].filterExpression()
        # Marked with its period, so the panel's choice of another period restyles the map from it.
        assert layer.customProperty("evcharge/utilisation_period") == "2024-07-01/2024-10-01"
    finally:
        layer = None
        project.clear()


def test_utilisation_by_period_gives_one_feature_per_charge_point_per_quarter(demo_archive):
    archive, _ = demo_archive
    layer = utilisation(archive, by_period=True)["OUTPUT"]
    assert layer.featureCount() == 4 * DEMO_REGISTERED
    starts = sorted({f["period_start"].date().toString("yyyy-MM-dd") for f in layer.getFeatures()})
    assert starts == QUARTER_STARTS
    per_point = {}
    for feature in layer.getFeatures():
        per_point[feature["chargepoint_id"]] = per_point.get(feature["chargepoint_id"], 0) + 1
    assert set(per_point.values()) == {4}


def test_utilisation_refuses_a_backwards_period_and_a_missing_archive(demo_archive, tmp_path):
    archive, _ = demo_archive
    with pytest.raises(QgsProcessingException) as backwards:
        utilisation(archive, "2024-10-01", "2024-07-01")
    assert "2024-07-01" in str(backwards.value) and "2024-10-01" in str(backwards.value)
    missing = tmp_path / "nowhere.gpkg"
    with pytest.raises(QgsProcessingException) as absent:
        utilisation(missing, "2024-07-01", "2024-10-01")
    assert "nowhere.gpkg" in str(absent.value)
    assert not missing.exists()


# -- the renderer ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def q3_layer(demo_archive, tmp_path_factory):
    """Q3 2024 utilisation from a copy of the demo archive that knows one extra charge point, without usage in Q3 2024."""
    folder = tmp_path_factory.mktemp("with_extra")
    archive = folder / "history.gpkg"
    shutil.copy(demo_archive[0], archive)
    points = write(folder / "extra.csv", CHARGEPOINTS_CSV.splitlines()[0] + "\nEXTRA-1,New lamp post,Op,51.50,-0.12,,,7,1,Type 2,AVAILABLE,yes,GULCS\n")
    # Its only usage is a year earlier, so it has no data in Q3 2024.
    usage = write(folder / "extra_usage.csv", RETURN_HEADER + "EXTRA-1,2023-07-01,2023-09-30,5,20,10,8,2208\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVCHARGE_CACHE_DIR", str(folder / "cache"))
        added = import_usage(usage, archive, points)
    assert (added["REGISTERED"], added["IMPORTED"]) == (1, 1)
    layer = utilisation(archive, "2024-07-01", "2024-10-01")["OUTPUT"]
    yield layer
    del layer


def style(layer, settings, temporal=False, start="2024-07-01", end="2024-10-01"):
    from ev_charge_plugin.qgis_io.symbology import style_by_utilisation

    style_by_utilisation(layer, settings.metric, start, end, settings, temporal=temporal)
    return layer.renderer()


def bounds(rule):
    """(lower, upper) from a class rule's filter."""
    lower, upper = re.findall(r"[<>]=? ([-+0-9.e]+)", rule.filterExpression())
    return float(lower), float(upper)


def count_matching(layer, expression):
    return sum(1 for _ in layer.getFeatures(QgsFeatureRequest(QgsExpression(expression))))


def occupancy_values(layer):
    values = [f["occupancy_pct"] for f in layer.getFeatures()]
    return [value for value in values if isinstance(value, float) and value == value]


def test_equal_interval_rules_span_the_values_in_equal_steps(q3_layer):
    from ev_charge_plugin.core.utilisation import metrics
    from ev_charge_plugin.qgis_io.symbology import RendererSettings, metric_rules

    renderer = style(q3_layer, RendererSettings(method="equal", classes=4, ramp="Blues", metric="occupancy_pct"))
    heading = renderer.rootRule().children()[0]
    # The legend's first line is the metric's definition; it draws nothing itself.
    assert heading.symbol() is None and heading.filterExpression() == ""
    assert heading.label() == metrics()["occupancy_pct"].short and heading.description() == metrics()["occupancy_pct"].long
    rules = metric_rules(renderer)
    assert len(rules) == 5
    *classes, no_data = rules
    assert no_data.isElse() and no_data.label() == "No usage data in this period"
    assert not any(rule.isElse() for rule in classes)

    values = occupancy_values(q3_layer)
    low, high = min(values), max(values)
    width = (high - low) / 4
    for index, rule in enumerate(classes):
        lower, upper = bounds(rule)
        assert lower == pytest.approx(low + index * width)
        assert upper == pytest.approx(low + (index + 1) * width)
    ramp = QgsStyle.defaultStyle().colorRamp("Blues")
    assert classes[0].symbol().color().name() == ramp.color(0).name()
    assert classes[-1].symbol().color().name() == ramp.color(1).name()
    # Every charge point with data falls in exactly one class.
    assert sum(count_matching(q3_layer, rule.filterExpression()) for rule in classes) == len(values) == DEMO_REGISTERED


def test_quantile_classes_hold_about_equal_counts(q3_layer):
    from ev_charge_plugin.qgis_io.symbology import RendererSettings, metric_rules

    renderer = style(q3_layer, RendererSettings(method="quantile", classes=5, ramp="Viridis", metric="occupancy_pct"))
    classes = [rule for rule in metric_rules(renderer) if not rule.isElse()]
    assert len(classes) == 5
    counts = [count_matching(q3_layer, rule.filterExpression()) for rule in classes]
    assert sum(counts) == DEMO_REGISTERED
    for count in counts:
        assert abs(count - DEMO_REGISTERED / 5) <= 0.05 * DEMO_REGISTERED / 5, counts


def test_charge_point_without_usage_is_drawn_by_the_no_data_rule(q3_layer):
    from ev_charge_plugin.qgis_io.symbology import RendererSettings, metric_rules

    renderer = style(q3_layer, RendererSettings(method="equal", classes=4, ramp="Blues", metric="occupancy_pct"))
    no_data = metric_rules(renderer)[-1]
    [extra] = q3_layer.getFeatures(QgsFeatureRequest(QgsExpression("\"chargepoint_id\" = 'EXTRA-1'")))
    [busy] = q3_layer.getFeatures(QgsFeatureRequest(QgsExpression("\"chargepoint_id\" = 'DEMO-000001'")))
    context = QgsRenderContext()
    context.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(q3_layer))
    renderer.startRender(context, q3_layer.fields())
    try:
        extra_keys = renderer.legendKeysForFeature(extra, context)
        busy_keys = renderer.legendKeysForFeature(busy, context)
    finally:
        renderer.stopRender(context)
    # Every feature also lists the root rule and the definition's line.
    parents = {renderer.rootRule().ruleKey(), renderer.rootRule().children()[0].ruleKey()}
    assert extra_keys - parents == {no_data.ruleKey()}
    assert len(busy_keys - parents) == 1 and no_data.ruleKey() not in busy_keys


def test_layer_name_legend_title_shapes_and_metadata(q3_layer):
    from ev_charge_plugin.core.utilisation import metrics
    from ev_charge_plugin.qgis_io.project import LEGEND_TITLE
    from ev_charge_plugin.qgis_io.symbology import RendererSettings, metric_rules

    renderer = style(q3_layer, RendererSettings(method="equal", classes=4, ramp="Blues", metric="occupancy_pct"))
    for text in (q3_layer.name(), q3_layer.customProperty(LEGEND_TITLE)):
        assert "Occupancy %" in text and "Q3 2024" in text
    assert q3_layer.name().startswith("Charge points: ")
    for rule in metric_rules(renderer):
        shape = rule.symbol().symbolLayer(0).dataDefinedProperties().property(QgsSymbolLayer.PropertyName)
        assert shape.isActive()
        assert re.search(r"WHEN 'rapid' THEN 'triangle'", shape.expressionString())
    assert metrics()["occupancy_pct"].long in q3_layer.metadata().abstract()
    assert not q3_layer.temporalProperties().isActive()


def test_renderer_settings_round_trip_through_qgssettings(qgis_app):
    from ev_charge_plugin.qgis_io.symbology import STYLE_SETTINGS, RendererSettings

    try:
        chosen = RendererSettings(method="jenks", classes=7, ramp="Reds", metric="kwh_per_day")
        chosen.save()
        assert RendererSettings.load() == chosen
        # Nonsense in the settings file comes back as something usable.
        QgsSettings().setValue(f"{STYLE_SETTINGS}/method", "bogus")
        QgsSettings().setValue(f"{STYLE_SETTINGS}/classes", 40)
        loaded = RendererSettings.load()
        assert (loaded.method, loaded.classes, loaded.ramp) == ("quantile", 12, "Reds")
    finally:
        QgsSettings().remove(STYLE_SETTINGS)
    assert RendererSettings.load() == RendererSettings()


# -- temporal ----------------------------------------------------------------------------------------------

def begins_and_ends(extent):
    return extent.begin().toString("yyyy-MM-dd HH:mm"), extent.end().toString("yyyy-MM-dd HH:mm")


EVERY_QUARTER = ("2023-10-01 00:00", "2024-10-01 00:00")
# The controller's extent ends where the last quarter begins (QGIS 3.22 would add an empty fifth frame);
# its last frame still runs to the end of that quarter.
CONTROLLER_EXTENT = ("2023-10-01 00:00", "2024-07-01 00:00")


def test_temporal_style_covers_every_archived_quarter(demo_archive):
    from ev_charge_plugin.qgis_io.symbology import RendererSettings

    layer = utilisation(demo_archive[0], by_period=True)["OUTPUT"]
    style(layer, RendererSettings(), temporal=True, start="2023-10-01", end="2024-10-01")
    properties = layer.temporalProperties()
    assert properties.isActive()
    assert (properties.startField(), properties.endField()) == ("period_start", "period_end")
    # calculateTemporalExtent is not in QGIS 3.22's Python API; the project-wide range is computed from it.
    project = QgsProject()
    project.addMapLayer(layer)
    try:
        assert begins_and_ends(QgsTemporalUtils.calculateTemporalRangeForProject(project)) == EVERY_QUARTER
        assert "Oct 2023" in layer.name() and "Sep 2024" in layer.name()
    finally:
        layer = None
        project.clear()


def test_add_utilisation_layer_steps_the_temporal_controller_by_quarter(demo_archive):
    from ev_charge_plugin.gui.style_results import add_utilisation_layer
    from ev_charge_plugin.qgis_io.project import GROUP_NAME, SCOPE
    from ev_charge_plugin.qgis_io.symbology import RendererSettings

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("evcharge:utilisation")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    results, ok = algorithm.run({"ARCHIVE": str(demo_archive[0]), "BY_PERIOD": True, "OUTPUT": "TEMPORARY_OUTPUT"}, context, feedback)
    assert ok
    navigation = QgsTemporalNavigationObject()
    project = QgsProject.instance()
    layer = None
    try:
        layer = add_utilisation_layer(results, context, RendererSettings(), "2023-10-01", "2024-10-01", True, navigation)
        assert project.mapLayer(layer.id()) is layer
        assert project.layerTreeRoot().findGroup(GROUP_NAME).findLayer(layer.id()) is not None
        assert project.readEntry(SCOPE, "metric", "")[0] == "occupancy_pct"

        assert begins_and_ends(navigation.temporalExtents()) == CONTROLLER_EXTENT
        assert begins_and_ends(navigation.dateTimeRangeForFrameNumber(3))[1] == EVERY_QUARTER[1]
        duration = navigation.frameDuration()
        assert (duration.originalDuration(), duration.originalUnit()) == (3, QgsUnitTypes.TemporalMonths)
        assert navigation.totalFrameCount() == 4
        assert navigation.currentFrameNumber() == 0
        frames = [begins_and_ends(navigation.dateTimeRangeForFrameNumber(frame))[0][:10] for frame in range(4)]
        assert frames == QUARTER_STARTS
        assert begins_and_ends(project.timeSettings().temporalRange()) == EVERY_QUARTER
        # Each frame shows exactly that quarter's features: not the quarter before, which ends as the frame begins.
        temporal_context = QgsVectorLayerTemporalContext()
        temporal_context.setLayer(layer)
        for frame in range(4):
            frame_range = navigation.dateTimeRangeForFrameNumber(frame)
            shown = layer.temporalProperties().createFilterString(temporal_context, frame_range)
            starts = {f["period_start"].date().toString("yyyy-MM-dd") for f in layer.getFeatures(QgsFeatureRequest(QgsExpression(shown)))}
            assert starts == {QUARTER_STARTS[frame]}
            assert count_matching(layer, shown) == DEMO_REGISTERED
    finally:
        layer = None
        project.clear()


def test_step_through_periods_gives_one_frame_per_quarter(qgis_app):
    from qgis.core import QgsDateTimeRange

    from ev_charge_plugin.gui.style_results import step_through_periods

    navigation = QgsTemporalNavigationObject()
    # Four quarters, end exclusive, as a by-period layer's temporal extent is.
    four_quarters = QgsDateTimeRange(QDateTime(QDate(2023, 10, 1), QTime(0, 0)), QDateTime(QDate(2024, 10, 1), QTime(0, 0)))
    step_through_periods(navigation, four_quarters, 3)
    assert navigation.navigationMode() == QgsTemporalNavigationObject.Animated
    assert begins_and_ends(navigation.temporalExtents()) == CONTROLLER_EXTENT
    assert begins_and_ends(navigation.dateTimeRangeForFrameNumber(3))[1] == EVERY_QUARTER[1]
    assert [begins_and_ends(navigation.dateTimeRangeForFrameNumber(frame))[0][:10] for frame in range(4)] == QUARTER_STARTS
    # No fifth, empty frame after the last archived quarter.
    assert navigation.totalFrameCount() == 4


def test_a_change_metric_says_its_no_data_class_needs_the_period_before(demo_archive):
    from ev_charge_plugin.qgis_io.symbology import RendererSettings, metric_rules

    archive, _ = demo_archive
    # Q4 2023 is the first archived quarter: no quarter before it, so no change for anyone.
    layer = utilisation(archive, "2023-10-01", "2024-01-01")["OUTPUT"]
    renderer = style(layer, RendererSettings(method="equal", classes=4, metric="occupancy_change_pp"), start="2023-10-01", end="2024-01-01")
    # No values, so no classes: only the no-data rule, saying why.
    [no_data] = metric_rules(renderer)
    assert no_data.isElse() and no_data.label() == "No usage data in this period or the one before"
    # Wrappers of a renderer's rules must go before the layer that owns them (see tests/gui/test_style_dialog.py).
    no_data = renderer = None
    # The next quarter has one: classes, then the no-data rule.
    layer = utilisation(archive, "2024-01-01", "2024-04-01")["OUTPUT"]
    renderer = style(layer, RendererSettings(method="equal", classes=4, metric="occupancy_change_pp"), start="2024-01-01", end="2024-04-01")
    assert len(metric_rules(renderer)) == 5
