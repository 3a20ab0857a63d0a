"""Draw candidate sites under qtbot: clicks on a real map canvas add features through the edit buffer,
undo and redo take them back and forth, Shift+click removes one, and the layer saves."""
import pytest
from qgis.core import (
    NULL,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsSnappingConfig,
    QgsTolerance,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtCore import QPoint, Qt

from ev_charge_plugin.gui.candidate_tool import (
    CANDIDATE_FIELDS,
    CANDIDATE_PROPERTY,
    CandidateTool,
    candidate_defaults,
    candidate_layers,
    is_candidate_layer,
    new_candidate_layer,
    next_site_name,
)

pytestmark = pytest.mark.qgis

BNG = QgsCoordinateReferenceSystem("EPSG:27700")
WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
# Map units per pixel on the British National Grid canvas: 10 km over 500 pixels.
PIXEL_M = 20.0
SITES = [(530000, 180000), (531500, 181200), (528700, 178900)]


def make_canvas(qtbot, crs, extent):
    canvas = QgsMapCanvas()
    canvas.resize(500, 500)
    canvas.setDestinationCrs(crs)
    canvas.setExtent(extent)
    canvas.show()
    qtbot.addWidget(canvas)
    qtbot.waitExposed(canvas)
    return canvas


@pytest.fixture
def drawing(qtbot, qgis_app):
    """A canvas over central London in British National Grid, a new candidate layer in the project, and the tool active."""
    QgsProject.instance().clear()
    layer = new_candidate_layer()
    QgsProject.instance().addMapLayer(layer)
    canvas = make_canvas(qtbot, BNG, QgsRectangle(525000, 175000, 535000, 185000))
    tool = CandidateTool(canvas, lambda: layer)
    canvas.setMapTool(tool)
    yield canvas, tool, layer
    canvas.unsetMapTool(tool)
    if layer.isEditable():
        layer.rollBack()
    QgsProject.instance().clear()


def pixel_of(canvas, point):
    pixel = canvas.getCoordinateTransform().transform(point)
    return QPoint(round(pixel.x()), round(pixel.y()))


def click(qtbot, canvas, point, modifier=Qt.NoModifier, button=Qt.LeftButton):
    """Click where ``point`` (canvas CRS) is on the screen; returns the map point of the pixel clicked."""
    pixel = pixel_of(canvas, point)
    qtbot.mouseClick(canvas.viewport(), button, modifier, pixel)
    return canvas.getCoordinateTransform().toMapCoordinates(pixel)


def add(qtbot, canvas, tool, east, north):
    with qtbot.waitSignal(tool.added, timeout=5000) as blocker:
        clicked = click(qtbot, canvas, QgsPointXY(east, north))
    return blocker.args[0], clicked


def by_name(layer):
    return {feature["name"]: feature for feature in layer.getFeatures()}


def test_new_layer_has_the_candidate_fields_style_and_mark(qgis_app):
    layer = new_candidate_layer()
    assert layer.isValid() and layer.providerType() == "memory"
    assert layer.crs().authid() == "EPSG:27700"
    assert layer.name() == "Candidate sites"
    assert [field.name() for field in layer.fields()] == ["name", "connectors", "power_kw", "cost", "notes"]
    assert [field.typeName().lower() for field in layer.fields()][:2] == ["string", "integer"]
    assert is_candidate_layer(layer) and layer.customProperty(CANDIDATE_PROPERTY) is True
    symbol = layer.renderer().symbol()
    assert symbol.symbolLayer(0).shape() == symbol.symbolLayer(0).Star
    assert layer.labelsEnabled()
    # QGIS's own Add Point tool and the attribute table get the same defaults as the candidate tool.
    assert layer.defaultValueDefinition(layer.fields().indexOf("cost")).expression() == "7500.0"
    assert candidate_defaults() == {"connectors": 2, "power_kw": 7.0, "cost": 7500.0}
    assert [spec.name for spec in CANDIDATE_FIELDS] == [field.name() for field in layer.fields()]
    assert new_candidate_layer(WGS84, "Mine").crs().authid() == "EPSG:4326"


def test_clicks_add_sites_with_defaults_where_clicked(qtbot, drawing):
    canvas, tool, layer = drawing
    assert canvas.mapTool() is tool
    assert not layer.isEditable()
    clicked = [add(qtbot, canvas, tool, east, north) for east, north in SITES]
    assert layer.isEditable()  # the tool put the layer in edit mode: nothing is written until the user saves
    assert layer.featureCount() == 3
    # One named command per site on the layer's undo stack: what Edit > Undo and the Undo/Redo panel show.
    assert [layer.undoStack().text(index) for index in range(3)] == ["Add candidate site"] * 3
    sites = by_name(layer)
    assert sorted(sites) == ["Site 1", "Site 2", "Site 3"]
    for (fid, map_point), (east, north), name in zip(clicked, SITES, ["Site 1", "Site 2", "Site 3"]):
        feature = sites[name]
        assert feature.id() == fid
        point = feature.geometry().asPoint()
        # Within a metre of the map point of the pixel clicked, and within a pixel of the place aimed at.
        assert point.distance(map_point) < 1.0
        assert point.distance(QgsPointXY(east, north)) <= PIXEL_M
        assert (feature["connectors"], feature["power_kw"], feature["cost"]) == (2, 7.0, 7500.0)
        assert feature["notes"] in (None, NULL)
    assert "Site 3" in tool.last_message


def test_undo_removes_the_last_site_and_redo_brings_it_back(qtbot, drawing):
    canvas, tool, layer = drawing
    for east, north in SITES:
        add(qtbot, canvas, tool, east, north)
    layer.undoStack().undo()
    assert layer.featureCount() == 2
    remaining = by_name(layer)
    assert sorted(remaining) == ["Site 1", "Site 2"]
    for name, (east, north) in zip(["Site 1", "Site 2"], SITES):
        assert remaining[name].geometry().asPoint().distance(QgsPointXY(east, north)) <= PIXEL_M
    # The next click takes the name the undone site had: the numbering follows what is in the layer.
    add(qtbot, canvas, tool, 532000, 182000)
    assert sorted(by_name(layer)) == ["Site 1", "Site 2", "Site 3"]
    layer.undoStack().undo()
    layer.undoStack().undo()
    assert sorted(by_name(layer)) == ["Site 1"]
    layer.undoStack().redo()
    assert sorted(by_name(layer)) == ["Site 1", "Site 2"]
    assert by_name(layer)["Site 2"].geometry().asPoint().distance(QgsPointXY(*SITES[1])) <= PIXEL_M


def test_keyboard_undo_redo_and_escape(qtbot, drawing):
    canvas, tool, layer = drawing
    for east, north in SITES[:2]:
        add(qtbot, canvas, tool, east, north)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert layer.featureCount() == 1
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert layer.featureCount() == 2
    with qtbot.waitSignal(tool.finished, timeout=5000):
        qtbot.keyClick(canvas, Qt.Key_Escape)
    assert canvas.mapTool() is None
    assert layer.featureCount() == 2  # ending drawing keeps the edits


def test_choosing_another_map_tool_just_deactivates_it(qtbot, drawing):
    """The plugin switches to Pan on ``finished``: were it emitted on deactivation too, that would recurse for ever."""
    from qgis.gui import QgsMapToolPan

    canvas, tool, layer = drawing
    pan = QgsMapToolPan(canvas)
    ended = []
    tool.finished.connect(lambda: (ended.append(True), canvas.setMapTool(pan)))
    canvas.setMapTool(pan)
    assert canvas.mapTool() is pan and ended == []
    canvas.setMapTool(tool)
    with qtbot.waitSignal(tool.finished, timeout=5000):
        tool.finish()
    assert canvas.mapTool() is pan and ended == [True]


def test_right_click_ends_drawing(qtbot, drawing):
    canvas, tool, layer = drawing
    with qtbot.waitSignal(tool.finished, timeout=5000):
        click(qtbot, canvas, QgsPointXY(530000, 180000), button=Qt.RightButton)
    assert canvas.mapTool() is None
    assert layer.featureCount() == 0


def test_shift_click_removes_the_nearest_site_and_undo_restores_it(qtbot, drawing):
    canvas, tool, layer = drawing
    ids = [add(qtbot, canvas, tool, east, north)[0] for east, north in SITES]
    # Two pixels off Site 2: within the tolerance, and nearer Site 2 than anything else.
    with qtbot.waitSignal(tool.removed, timeout=5000) as blocker:
        click(qtbot, canvas, QgsPointXY(SITES[1][0] + 2 * PIXEL_M, SITES[1][1] - 2 * PIXEL_M), Qt.ShiftModifier)
    assert blocker.args == [ids[1]]
    assert layer.undoStack().text(layer.undoStack().index() - 1) == "Remove candidate site"
    assert sorted(by_name(layer)) == ["Site 1", "Site 3"]
    assert "Site 2" in tool.last_message
    layer.undoStack().undo()
    restored = by_name(layer)
    assert sorted(restored) == ["Site 1", "Site 2", "Site 3"]
    assert restored["Site 2"].geometry().asPoint().distance(QgsPointXY(*SITES[1])) <= PIXEL_M
    assert restored["Site 2"]["cost"] == 7500.0
    # Far from every site: nothing is removed, and the user is told.
    with qtbot.assertNotEmitted(tool.removed):
        click(qtbot, canvas, QgsPointXY(534000, 176000), Qt.ShiftModifier)
    assert layer.featureCount() == 3
    assert "No candidate site" in tool.last_message


def test_a_geographic_canvas_puts_sites_where_clicked_in_the_layer_crs(qtbot, qgis_app):
    QgsProject.instance().clear()
    layer = new_candidate_layer()  # British National Grid
    QgsProject.instance().addMapLayer(layer)
    canvas = make_canvas(qtbot, WGS84, QgsRectangle(-0.25, 51.45, -0.05, 51.55))
    tool = CandidateTool(canvas, lambda: layer)
    canvas.setMapTool(tool)
    try:
        to_bng = QgsCoordinateTransform(WGS84, BNG, QgsProject.instance())
        places = [QgsPointXY(-0.1276, 51.5072), QgsPointXY(-0.2, 51.48)]  # Charing Cross; Fulham
        for place in places:
            with qtbot.waitSignal(tool.added, timeout=5000):
                clicked = click(qtbot, canvas, place)
            site = layer.getFeature(tool_last_id(layer)).geometry().asPoint()
            assert site.distance(to_bng.transform(clicked)) < 1.0
        charing_cross = by_name(layer)["Site 1"].geometry().asPoint()
        # Charing Cross is about (530050, 180400) on the grid: a degree-valued point would be nowhere near.
        assert charing_cross.distance(QgsPointXY(530050, 180400)) < 200
        with qtbot.waitSignal(tool.removed, timeout=5000):
            click(qtbot, canvas, places[1], Qt.ShiftModifier)
        assert sorted(by_name(layer)) == ["Site 1"]
    finally:
        canvas.unsetMapTool(tool)
        layer.rollBack()
        QgsProject.instance().clear()


def tool_last_id(layer):
    return max(layer.editBuffer().addedFeatures(), key=abs)


def test_commit_and_save_to_a_geopackage(qtbot, drawing, tmp_path):
    canvas, tool, layer = drawing
    for east, north in SITES:
        add(qtbot, canvas, tool, east, north)
    layer.undoStack().undo()
    assert layer.commitChanges(), layer.commitErrors()
    assert not layer.isEditable()
    assert sorted(by_name(layer)) == ["Site 1", "Site 2"]
    assert all(fid >= 0 for fid in (feature.id() for feature in layer.getFeatures()))
    # The layer stays editable after saving: the next click starts a new edit session.
    add(qtbot, canvas, tool, *SITES[2])
    assert layer.isEditable() and layer.commitChanges()
    assert sorted(by_name(layer)) == ["Site 1", "Site 2", "Site 3"]

    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "candidates"
    path = str(tmp_path / "candidates.gpkg")
    error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, QgsProject.instance().transformContext(), options)
    assert error == QgsVectorFileWriter.NoError, message
    saved = QgsVectorLayer(f"{path}|layername=candidates", "saved", "ogr")
    # Owned by the project, which releases the file-backed layer when the test is over.
    QgsProject.instance().addMapLayer(saved, False)
    try:
        assert saved.isValid() and saved.crs().authid() == "EPSG:27700"
        assert {"name", "connectors", "power_kw", "cost", "notes"} <= set(saved.fields().names())
        rows = {feature["name"]: feature for feature in saved.getFeatures()}
        assert sorted(rows) == ["Site 1", "Site 2", "Site 3"]
        for name, (east, north) in zip(["Site 1", "Site 2", "Site 3"], SITES):
            assert rows[name].geometry().asPoint().distance(QgsPointXY(east, north)) <= PIXEL_M
            assert (rows[name]["connectors"], rows[name]["power_kw"], rows[name]["cost"]) == (2, 7.0, 7500.0)
        # The saved file is a candidate layer like any other: the tool draws on it through its edit buffer too.
        tool.layer_getter = lambda: saved
        add(qtbot, canvas, tool, 533000, 183000)
        assert saved.featureCount() == 4 and saved.commitChanges(), saved.commitErrors()
        assert "Site 4" in {feature["name"] for feature in saved.getFeatures()}
    finally:
        tool.layer_getter = lambda: None
        QgsProject.instance().removeMapLayer(saved)


def test_no_layer_or_a_polygon_layer_adds_nothing_and_says_why(qtbot, drawing):
    canvas, tool, layer = drawing
    messages = []
    tool.message.connect(messages.append)
    tool.layer_getter = lambda: None
    with qtbot.assertNotEmitted(tool.added):
        click(qtbot, canvas, QgsPointXY(530000, 180000))
    assert messages and "No candidate layer" in messages[-1]
    assert layer.featureCount() == 0 and not layer.isEditable()

    polygons = QgsVectorLayer("Polygon?crs=EPSG:27700&field=name:string", "car parks", "memory")
    square = QgsFeature(polygons.fields())
    square.setAttributes(["Car park"])
    square.setGeometry(QgsGeometry.fromRect(QgsRectangle(529000, 179000, 529400, 179400)))
    polygons.dataProvider().addFeatures([square])
    tool.layer_getter = lambda: polygons
    with qtbot.assertNotEmitted(tool.added):
        click(qtbot, canvas, QgsPointXY(530000, 180000))
    assert "polygons" in messages[-1]
    assert polygons.featureCount() == 1 and not polygons.isEditable()
    # Shift+click inside a polygon candidate removes it, undoably.
    with qtbot.waitSignal(tool.removed, timeout=5000):
        click(qtbot, canvas, QgsPointXY(529200, 179200), Qt.ShiftModifier)
    assert polygons.featureCount() == 0
    polygons.undoStack().undo()
    assert polygons.featureCount() == 1
    polygons.rollBack()


def test_activating_shows_the_hint_and_a_capture_cursor(qtbot, drawing):
    canvas, tool, layer = drawing
    canvas.unsetMapTool(tool)
    with qtbot.waitSignal(tool.message, timeout=5000) as blocker:
        canvas.setMapTool(tool)
    assert "Shift+click removes" in blocker.args[0] and "Esc" in blocker.args[0] and "Make Permanent" in blocker.args[0]
    expected = QgsApplication.getThemeCursor(QgsApplication.Cursor.CapturePoint)
    assert canvas.cursor().shape() == Qt.BitmapCursor
    assert canvas.cursor().pixmap().toImage() == expected.pixmap().toImage()


def test_snapping_moves_a_site_onto_the_vertex_snapped_to(qtbot, drawing):
    canvas, tool, layer = drawing
    kerb = QgsVectorLayer("Point?crs=EPSG:27700", "kerb points", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(530013.5, 180007.25)))
    kerb.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(kerb)
    canvas.setLayers([kerb, layer])
    config = QgsSnappingConfig(QgsProject.instance())
    config.setEnabled(True)
    config.setMode(QgsSnappingConfig.AllLayers)
    config.setTypeFlag(QgsSnappingConfig.VertexFlag)
    config.setTolerance(10)
    config.setUnits(QgsTolerance.Pixels)
    canvas.snappingUtils().setConfig(config)
    try:
        add(qtbot, canvas, tool, 530000, 180000)
        site = next(layer.getFeatures()).geometry().asPoint()
        assert (site.x(), site.y()) == pytest.approx((530013.5, 180007.25), abs=1e-6)
    finally:
        config.setEnabled(False)
        canvas.snappingUtils().setConfig(config)


def test_names_and_candidate_layers(qgis_app):
    QgsProject.instance().clear()
    try:
        plain = QgsVectorLayer("Point?crs=EPSG:27700&field=name:string", "charge points", "memory")
        lines = QgsVectorLayer("LineString?crs=EPSG:27700", "roads", "memory")
        areas = QgsVectorLayer("Polygon?crs=EPSG:27700", "car parks", "memory")
        drawn = new_candidate_layer()
        QgsProject.instance().addMapLayers([plain, lines, areas, drawn])
        assert candidate_layers()[0] is drawn
        assert set(candidate_layers()) == {plain, areas, drawn}
        assert next_site_name(drawn) == "Site 1"
        feature = QgsFeature(plain.fields())
        for name in ("Site 2", "site 9", "Site 10a", "Depot"):
            feature.setAttributes([name])
            plain.dataProvider().addFeatures([feature])
        assert next_site_name(plain) == "Site 10"
        # The mark survives a saved project, where it reads back as text.
        drawn.setCustomProperty(CANDIDATE_PROPERTY, "true")
        assert is_candidate_layer(drawn) and not is_candidate_layer(plain)
    finally:
        QgsProject.instance().clear()
