"""The dock's charts under qtbot, on the demo data and a real archive: drill-down, linked selection, period, export, saved settings."""
import xml.etree.ElementTree as ElementTree

import pytest
from demo_data import demo_layers
from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsProject, QgsRectangle
from qgis.gui import QgsMapCanvas
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QImage

from ev_charge_plugin.gui.dock import EvChargeDock
from ev_charge_plugin.gui.import_dialog import set_project_archive
from ev_charge_plugin.gui.task_dialog import SUCCEEDED
from ev_charge_plugin.qgis_io.project import set_shared_choice

pytestmark = pytest.mark.qgis

Q2, Q3 = ("2024-04-01", "2024-07-01"), ("2024-07-01", "2024-10-01")


def summarise(qtbot, panel, trigger):
    with qtbot.waitSignal(panel.summarised, timeout=120000) as blocker:
        trigger()
    assert blocker.args[0] == SUCCEEDED, blocker.args[1]


@pytest.fixture
def dock(qtbot, demo_files):
    gpkg, archive = demo_files
    project = QgsProject.instance()
    project.clear()
    set_project_archive(str(archive))
    layers = demo_layers(gpkg, "charge_points", "boroughs", "wards")
    project.addMapLayers(list(layers.values()))
    canvas = QgsMapCanvas()
    canvas.resize(400, 400)
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:27700"))
    canvas.setExtent(QgsRectangle(500000, 150000, 570000, 210000))
    qtbot.addWidget(canvas)
    widget = EvChargeDock(canvas)
    qtbot.addWidget(widget)
    widget.resize(520, 1000)
    widget.show()
    panel = widget.summary
    panel.points_combo.setLayer(layers["charge_points"])
    panel.areas_combo.setLayer(layers["boroughs"])
    panel.wards_combo.setLayer(layers["wards"])
    panel.wards_field.setField("name")
    panel.fill_periods()
    assert panel.select_period(*Q3)
    summarise(qtbot, panel, panel.refresh)
    widget.layers, widget.canvas = layers, canvas
    yield widget
    widget.unload()
    project.clear()


def points_inside(layer, area_geometry) -> set:
    """Feature ids of the points inside an area, by QGIS's own geometry test."""
    engine = QgsGeometry.createGeometryEngine(area_geometry.constGet())
    engine.prepareGeometry()
    return {point.id() for point in layer.getFeatures(area_geometry.boundingBox()) if engine.contains(point.geometry().constGet())}


def borough(dock, name):
    return next(feature for feature in dock.layers["boroughs"].getFeatures() if feature["name"] == name)


def click_bar(qtbot, chart, label):
    index = chart.labels.index(label)
    qtbot.mouseClick(chart.viewport(), Qt.LeftButton, pos=chart.bar_position(index))


def test_clicking_a_borough_bar_selects_its_charge_points_and_drills_down_to_its_wards(qtbot, dock):
    panel, points = dock.summary, dock.layers["charge_points"]
    with qtbot.waitSignal(points.selectionChanged, timeout=5000):
        click_bar(qtbot, panel.london_bars, "Camden")
    assert set(points.selectedFeatureIds()) == points_inside(points, borough(dock, "Camden").geometry())
    assert dock.tabs.currentWidget() is panel.area_tab
    camden_wards = {ward["name"] for ward in dock.layers["wards"].getFeatures() if ward["borough"] == "Camden"}
    assert set(panel.area_bars.labels) == camden_wards and "Camden" in panel.breadcrumb.text()
    assert dock.canvas.extent().contains(points.boundingBoxOfSelected())

    ward = sorted(camden_wards)[0]
    click_bar(qtbot, panel.area_bars, ward)
    ward_geometry = next(w.geometry() for w in dock.layers["wards"].getFeatures() if w["name"] == ward)
    assert set(points.selectedFeatureIds()) == points_inside(points, ward_geometry)

    panel.breadcrumb.linkActivated.emit("london")
    assert panel.area == -1 and panel.area_bars.labels == []


def test_selecting_on_the_map_highlights_the_areas_holding_the_selection(qtbot, dock):
    panel, points = dock.summary, dock.layers["charge_points"]
    chosen = points_inside(points, borough(dock, "Westminster").geometry()) | set(list(points_inside(points, borough(dock, "Bexley").geometry()))[:3])
    points.selectByIds(list(chosen))
    labels = panel.london_bars.labels
    assert {labels[index] for index in panel.london_bars.highlighted} == {"Westminster", "Bexley"}
    with_metric = sum(1 for feature in points.getFeatures() if feature.id() in chosen)
    assert 0 < sum(panel.london_histogram.values()["selected"]) <= with_metric
    points.removeSelection()
    assert panel.london_bars.highlighted == set()


def test_changing_the_period_shows_the_algorithms_figures_for_that_period(qtbot, dock, demo_files):
    import processing

    panel = dock.summary
    q3 = panel.london_bars.values()
    summarise(qtbot, panel, lambda: (panel.select_period(*Q2), panel.period_combo.activated.emit(panel.period_combo.currentIndex())))
    expected = processing.run("evcharge:areasummary", {"POINTS": dock.layers["charge_points"], "AREAS": dock.layers["boroughs"],
                                                       "ARCHIVE": str(demo_files[1]), "PERIOD_START": Q2[0], "PERIOD_END": Q2[1],
                                                       "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]
    shown = panel.london_bars.values()
    assert shown == pytest.approx({f["name"]: f["occupancy_pct"] for f in expected.getFeatures()})
    assert shown != pytest.approx(q3)
    assert QgsProject.instance().readEntry("EvChargePoints", "period_start", "")[0] == Q2[0]


def test_the_shared_choice_from_the_map_style_drives_the_charts(qtbot, dock):
    panel = dock.summary
    set_shared_choice("kwh_per_day", *Q3)  # a new metric alone: drawn from the figures at hand, nothing run again
    assert not panel.is_running() and panel.metric() == "kwh_per_day" and panel.period() == Q3
    assert panel.london_bars.reference_line.value() == pytest.approx(panel.boroughs.total["kwh_per_day"])
    assert panel.london_bars.values() == pytest.approx(dict(zip(panel.boroughs.names, panel.boroughs.value("kwh_per_day"))))
    summarise(qtbot, panel, lambda: set_shared_choice("kwh_per_day", *Q2))  # a new period: summarised again
    assert panel.period() == Q2 and panel.period_in_figures == Q2


def test_changing_a_layer_drops_the_figures_of_the_old_one(qtbot, dock):
    panel = dock.summary
    panel.drill_down(panel.boroughs.names.index("Camden"))
    panel.areas_combo.setLayer(dock.layers["wards"])
    assert panel.boroughs is None and panel.area == -1 and panel.london_bars.labels == []
    assert "Update charts" in panel.status.text()


def test_trend_and_operator_charts_hold_the_archived_figures(qtbot, dock):
    panel = dock.summary
    panel.drill_down(panel.boroughs.names.index("Hackney"))
    trend = panel.trend_chart.values()
    assert set(trend) == {"Hackney", "London"}
    assert len(trend["London"][0]) == 4  # every archived quarter
    q3 = trend["Hackney"][1][[day.isoformat() for day in trend["Hackney"][0]].index(Q3[0])]
    assert q3 == pytest.approx(panel.boroughs.value("occupancy_pct")[panel.area])
    operators = panel.operators_chart.values()
    hackney_wards = [name for name in panel.area_bars.labels]
    total = sum(values[name] for values in operators.values() for name in hackney_wards)
    assert total == panel.boroughs.value("chargepoints")[panel.area]


def test_charts_export_as_png_and_svg_of_the_asked_size(qtbot, dock, tmp_path):
    chart = dock.summary.london_bars
    png = chart.export(tmp_path / "boroughs.png", width=900)
    image = QImage(str(png))
    assert (image.width(), image.format() != QImage.Format_Invalid) == (900, True) and image.height() > 300
    # Not blank: the bars' colour is there.
    colours = {image.pixelColor(x, y).name() for x in range(0, 900, 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 3
    svg = chart.export(tmp_path / "boroughs.svg")
    root = ElementTree.parse(svg).getroot()
    view_box = [float(number) for number in root.get("viewBox").split()]
    assert root.tag.endswith("svg") and view_box[2:] == pytest.approx([chart.plotItem.width(), chart.plotItem.height()], abs=1)
    assert "Westminster" in svg.read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        chart.export(tmp_path / "boroughs.pdf")


def test_chart_settings_are_saved_in_the_project_and_restored(qtbot, dock, tmp_path):
    panel = dock.summary
    panel.sort_combo.setCurrentIndex(1)
    panel.sort_combo.activated.emit(1)
    panel.drill_down(panel.boroughs.names.index("Lambeth"))
    assert panel.london_bars.displayed_order()[0] == sorted(panel.boroughs.names, key=str.lower)[0]
    path = str(tmp_path / "charts.qgz")
    project = QgsProject.instance()
    assert project.write(path)
    panel.sort_combo.setCurrentIndex(0)
    panel.area = -1
    project.clear()
    summarise(qtbot, panel, lambda: project.read(path))
    assert panel.sort_combo.currentIndex() == 1
    assert panel.points_combo.currentLayer().name() == "charge_points" and panel.wards_combo.currentLayer().name() == "wards"
    assert panel.area >= 0 and panel.boroughs.names[panel.area] == "Lambeth"
    assert panel.period() == Q3


def test_official_statistics_show_the_boroughs_devices_against_london(qtbot, dock, tmp_path):
    from dft_fixtures import BOROUGHS, QUARTERS, expected, write_dft_workbook

    panel = dock.summary
    official = panel.official
    with qtbot.waitSignal(official.imported, timeout=60000) as blocker:
        official.import_file(str(write_dft_workbook(tmp_path / "dft.xlsx")))
    assert blocker.args[0] == SUCCEEDED, blocker.args[1]
    assert official.table_combo.currentLayer().name() == "DfT public charging devices"
    panel.drill_down(panel.boroughs.names.index("Hackney"))
    dates, values = official.chart.values()["Hackney"]
    code = next(code for code, name in BOROUGHS if name == "Hackney")
    assert len(dates) == len(QUARTERS)
    shown = dict(zip(dates, values))
    for quarter in QUARTERS[-4:]:
        wanted = expected(code, "all", quarter)
        assert shown[quarter.date()] == (pytest.approx(wanted) if wanted is not None else pytest.approx(float("nan"), nan_ok=True))
    # The demo boroughs have no population field: London is its mean per borough.
    london = dict(zip(*official.chart.values()["London"]))
    last = QUARTERS[-1]
    assert london[last.date()] == pytest.approx(expected("E12000007", "all", last) / 33)


def test_the_map_follows_the_metric_and_period_chosen_in_the_dock(qtbot, dock, demo_files):
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback

    from ev_charge_plugin.gui.style_results import MapFollower, add_utilisation_layer, utilisation_layers
    from ev_charge_plugin.qgis_io.project import LEGEND_TITLE
    from ev_charge_plugin.qgis_io.symbology import RendererSettings

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("evcharge:utilisation")
    context = QgsProcessingContext()
    results, ok = algorithm.run({"ARCHIVE": str(demo_files[1]), "PERIOD_START": Q3[0], "PERIOD_END": Q3[1], "OUTPUT": "TEMPORARY_OUTPUT"},
                                context, QgsProcessingFeedback())
    assert ok
    follower = MapFollower()
    try:
        add_utilisation_layer(results, context, RendererSettings(), *Q3, False)
        set_shared_choice("kwh_per_day", *Q3)
        [(layer, period)] = utilisation_layers()
        assert period == Q3 and "kWh per day" in layer.customProperty(LEGEND_TITLE)
        with qtbot.waitSignal(follower.followed, timeout=60000) as blocker:
            dock.summary.select_period(*Q2)
            dock.summary.period_combo.activated.emit(dock.summary.period_combo.currentIndex())
        assert blocker.args[0] == SUCCEEDED, blocker.args[1]
        [(layer, period)] = utilisation_layers()
        assert period == Q2 and "kWh per day" in layer.customProperty(LEGEND_TITLE) and "Q2 2024" in layer.name()

        # Styling another period from the dialog adds its layer: the follower computes nothing more.
        context = QgsProcessingContext()
        results, ok = algorithm.run({"ARCHIVE": str(demo_files[1]), "PERIOD_START": Q3[0], "PERIOD_END": Q3[1], "OUTPUT": "TEMPORARY_OUTPUT"},
                                    context, QgsProcessingFeedback())
        add_utilisation_layer(results, context, RendererSettings(metric="kwh_per_day"), *Q3, False)
        assert follower.run is None
        assert sorted(period for _, period in utilisation_layers()) == [Q2, Q3]
    finally:
        follower.unload()


def test_a_table_that_is_not_dfts_is_ignored_by_the_official_statistics(qtbot, dock):
    from qgis.core import QgsVectorLayer as Layer

    official = dock.summary.official
    other = Layer("None?field=severity:string&field=reason:string", "Import report", "memory")
    QgsProject.instance().addMapLayer(other)
    official.table_combo.setLayer(other)  # drawn at once: no error, nothing to show
    assert official.chart.values() == {} and "Import DfT" in official.chart.plotItem.titleLabel.text
