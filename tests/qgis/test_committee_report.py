"""evcharge:committeereport on the demo data: real layouts, real PDFs, read back with poppler's tools."""
import json
import subprocess
import unicodedata

import pytest
from qgis.PyQt.QtGui import QColor, QImage
from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsProcessingException, QgsProcessingFeedback, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QVariant

from ev_charge_plugin.report import templates
from demo_data import demo_layers

pytestmark = pytest.mark.qgis

Q3 = {"PERIOD_START": "2024-07-01", "PERIOD_END": "2024-10-01"}
TITLE = "Kerbside charging review"


def pdf_pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def page_text(path, page: int) -> str:
    text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    return unicodedata.normalize("NFKC", text)  # Qt sets "fi" as one ligature glyph, as in "Enﬁeld"


@pytest.fixture(scope="module")
def project_folder(qgis_app, tmp_path_factory):
    """A saved project, so the report's layers go beside it; cleared afterwards."""
    folder = tmp_path_factory.mktemp("committee")
    QgsProject.instance().clear()
    assert QgsProject.instance().write(str(folder / "committee.qgz"))
    yield folder
    QgsProject.instance().clear()


@pytest.fixture(scope="module")
def layers(demo_files):
    gpkg, archive = demo_files
    found = demo_layers(gpkg, "charge_points", "boroughs", "wards")
    found["archive"] = str(archive)
    yield found
    found.clear()  # release the layers here, while QGIS is sure to be up


def report(layers, output, **extra) -> dict:
    import processing

    parameters = {"CHARGEPOINTS": layers["charge_points"], "AREAS": layers["boroughs"], "WARDS": layers["wards"],
                  "ARCHIVE": layers["archive"], "TITLE": TITLE, "ORGANISATION": "London Borough of Camden",
                  "OUTPUT": str(output), **Q3, **extra}
    return processing.run("evcharge:committeereport", parameters, feedback=QgsProcessingFeedback())


@pytest.fixture(scope="module")
def atlas(layers, project_folder):
    output = project_folder / "committee_report.pdf"
    return report(layers, output), output


@pytest.fixture(scope="module")
def summary(layers, project_folder):
    """The area summary's own figures for Q3 2024, by borough, and for all boroughs."""
    import processing

    result = processing.run("evcharge:areasummary", {"POINTS": layers["charge_points"], "AREAS": layers["boroughs"], "ARCHIVE": layers["archive"],
                                                     "OUTPUT": "TEMPORARY_OUTPUT", **Q3})
    rows = {feature["name"]: {name: feature[name] for name in feature.fields().names()} for feature in result["OUTPUT"].getFeatures()}
    return rows, json.loads(result["TOTAL"])


def test_the_templates_load_with_every_item_on_their_paper(qgis_app):
    for paper, width in (("A4", 297), ("A3", 420)):
        for orientation in templates.ORIENTATIONS:
            layout = templates.load_layout(QgsProject.instance(), paper, orientation)
            size = layout.pageCollection().page(0).pageSize()
            assert round(max(size.width(), size.height())) == width
            assert (size.width() > size.height()) == (orientation == "landscape")
            assert all(layout.itemById(item_id) is not None for item_id in templates.ITEM_IDS)


def test_the_atlas_has_a_page_per_borough_with_its_name_and_the_area_summarys_figures(atlas, summary):
    result, output = atlas
    rows, total = summary
    assert result["PAGES"] == pdf_pages(output) == 33
    seen = []
    for page in range(1, 34):
        text = page_text(output, page)
        title = next(line for line in text.splitlines() if line.startswith(f"{TITLE}: "))
        name = title.split(": ", 1)[1].strip()
        seen.append(name)
        row = rows[name]
        # Formatted here, not by the plugin's own formatter, so that a wrong figure cannot hide behind it.
        for expected in (f"{row['chargepoints']:,}", f"{row['rapid_count'] + row['ultra_rapid_count']:,}", f"{row['occupancy_pct']:.1f}%",
                         f"{row['sessions']:,.0f}", f"{row['energy_kwh']:,.0f}", f"{row['occupancy_change_pp']:+.1f} points",
                         f"{total['chargepoints']:,}", f"{total['occupancy_pct']:.1f}%", f"{total['sessions']:,.0f}"):
            assert expected in text, (name, expected)
    assert seen == sorted(rows)  # every borough once, in name order


def test_page_one_has_the_title_period_metric_and_attribution(atlas):
    text = page_text(atlas[1], 1)
    assert f"{TITLE}: Barking and Dagenham" in text
    assert "Q3 2024" in text and "Occupancy %" in text and "hours a vehicle was plugged in" in text
    assert "London Borough of Camden" in text
    assert "Contains Ordnance Survey data © Crown copyright and database right" in text
    assert "SYNTHETIC DEMO DATA" in text


def test_the_pdf_embeds_its_fonts(atlas):
    fonts = subprocess.run(["pdffonts", str(atlas[1])], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # the "emb" column


def test_the_layout_and_its_layers_stay_in_the_project(atlas):
    result, _ = atlas
    layout = QgsProject.instance().layoutManager().layoutByName(result["LAYOUT_NAME"])
    assert layout is not None and layout.atlas().enabled() and layout.atlas().count() == 33
    assert result["LAYOUT_NAME"] == f"{TITLE}: all boroughs, Q3 2024"
    group = QgsProject.instance().layerTreeRoot().findGroup("EV Charge Points").findGroup(result["LAYOUT_NAME"])
    names = {node.layer().name() for node in group.findLayers()}
    assert {"Boroughs", "Wards", "Charge points: Occupancy %, Q3 2024", "Key figures"} <= names
    assert all(node.layer().providerType() == "ogr" for node in group.findLayers())


def test_every_rendered_page_has_a_coloured_map_and_a_legend_naming_the_metric(atlas, summary, tmp_path):
    output = atlas[1]
    rows, _ = summary
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(output), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page*.png"))
    assert len(rendered) == 33
    layout = templates.load_layout(QgsProject.instance(), "A4", "landscape")
    box = layout.itemById(templates.MAP)
    for page, png in enumerate(rendered, start=1):
        name = next(line for line in page_text(output, page).splitlines() if line.startswith(f"{TITLE}: ")).split(": ", 1)[1].strip()
        image = QImage(str(png))
        per_mm = image.width() / 297.0
        x0, y0 = int(box.positionWithUnits().x() * per_mm), int(box.positionWithUnits().y() * per_mm)
        width, height = int(box.sizeWithUnits().width() * per_mm), int(box.sizeWithUnits().height() * per_mm)
        coloured = sum(1 for x in range(x0, x0 + width) for y in range(y0, y0 + height)
                       if QColor(image.pixel(x, y)).saturation() > 80 and QColor(image.pixel(x, y)).value() > 60)
        # The charge points, coloured by class: at 30 dpi a point covers two or three pixels.
        assert coloured >= min(40, 2 * rows[name]["chargepoints"]), (name, coloured)
    assert all("Occupancy %, Q3 2024" in page_text(output, page) for page in (1, 17, 33))  # the legend's title


def test_one_borough_makes_one_page_and_a_png(layers, project_folder):
    output = project_folder / "camden.pdf"
    result = report(layers, output, AREA="Camden", LAYOUT=1, PNG_FOLDER=str(project_folder / "pngs"))  # A4 portrait
    assert result["PAGES"] == pdf_pages(output) == 1
    assert f"{TITLE}: Camden" in page_text(output, 1)
    assert result["LAYOUT_NAME"] == f"{TITLE}: Camden, Q3 2024"
    [png] = (project_folder / "pngs").iterdir()
    image = QImage(str(png))
    assert png.name == "committee_Camden.png" and (image.width(), image.height()) == (1240, 1753)  # A4 portrait (210 x 297 mm) at 150 dpi


def _candidates(wards) -> QgsVectorLayer:
    """Four candidate sites, at the inside point of four of Camden's wards, named out of alphabetical order."""
    layer = QgsVectorLayer("Point?crs=EPSG:27700", "candidates", "memory")
    layer.dataProvider().addAttributes([QgsField("name", QVariant.String)])
    layer.updateFields()
    camden = [feature for feature in wards.getFeatures() if feature["borough"] == "Camden"][:4]
    features = []
    for number, ward in enumerate(camden):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry(ward.geometry().pointOnSurface()))
        feature["name"] = f"{'ZYXW'[number]} {ward['name']} car park"
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


@pytest.mark.parametrize("areas_crs", ["EPSG:27700", "EPSG:4326"])
def test_chosen_sites_are_listed_in_rank_order(layers, project_folder, areas_crs):
    import processing

    chosen = processing.run("evcharge:selectsites", {"CANDIDATES": _candidates(layers["wards"]), "DEMAND": layers["wards"],
                                                     "DEMAND_FIELD": "households_no_offstreet", "COUNT": 3, "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]
    ranked = [feature["name"] for feature in sorted(chosen.getFeatures(), key=lambda feature: feature["order"])]
    assert len(ranked) == 3
    # Boroughs in another CRS than the sites: each page still lists the sites inside its borough.
    boroughs = processing.run("native:reprojectlayer", {"INPUT": layers["boroughs"], "TARGET_CRS": areas_crs, "OUTPUT": "TEMPORARY_OUTPUT"})["OUTPUT"]
    output = project_folder / "camden_sites.pdf"
    report(layers, output, AREA="Camden", SITES=chosen, AREAS=boroughs)
    text = page_text(output, 1)
    assert "Chosen sites, in rank order" in text and "Added demand" in text
    positions = [text.find(name) for name in ranked]
    assert all(position >= 0 for position in positions) and positions == sorted(positions), (ranked, positions)


def test_the_map_shows_only_the_chosen_charge_points(layers, project_folder):
    """With an archive, the map's layer comes from the archive: it keeps only the charge points of the layer given."""
    one_operator = QgsVectorLayer(layers["charge_points"].source(), "one operator", "ogr")
    one_operator.setSubsetString('"operator" = \'Borough Bollards (demo)\'')
    expected = one_operator.featureCount()
    assert 0 < expected < 3468
    result = report(layers, project_folder / "one_operator.pdf", CHARGEPOINTS=one_operator, AREA="Camden")
    group = QgsProject.instance().layerTreeRoot().findGroup("EV Charge Points").findGroup(result["LAYOUT_NAME"])
    [points] = [node.layer() for node in group.findLayers() if node.layer().name().startswith("Charge points")]
    assert points.featureCount() == expected
    assert f"{expected:,}" in page_text(project_folder / "one_operator.pdf", 1)  # London's count is theirs too


def test_another_name_field_and_a_run_without_usage(layers, project_folder):
    output = project_folder / "codes.pdf"
    report(layers, output, AREA_NAME_FIELD="gss_code", AREA="E09000007", ARCHIVE=None, PERIOD_START=None, PERIOD_END=None,
           CHARGEPOINTS=QgsVectorLayer(layers["charge_points"].source(), "no usage", "ogr"))
    text = page_text(output, 1)
    assert f"{TITLE}: E09000007" in text
    assert "Counts only: the charge point layer holds no usage" in text and "Charge points by speed" in text
    assert "Occupancy %, Q3 2024" not in text


def test_printing_the_same_report_again_replaces_the_earlier_one(layers, project_folder):
    folders = project_folder / "ev_charge_layers"
    report(layers, project_folder / "again.pdf", AREA="Camden", TITLE="Again")
    first = set(folders.iterdir())
    report(layers, project_folder / "again.pdf", AREA="Camden", TITLE="Again")
    second = set(folders.iterdir())
    assert len(second - first) == 1 and len(first - second) == 1  # a new folder in, the earlier one out
    assert len([layout for layout in QgsProject.instance().layoutManager().printLayouts() if layout.name().startswith("Again:")]) == 1


def test_an_archive_without_usage_says_so(layers, project_folder, tmp_path):
    import shutil
    import sqlite3

    empty = tmp_path / "empty_history.gpkg"
    shutil.copy(layers["archive"], empty)
    with sqlite3.connect(empty) as connection:
        connection.execute("DELETE FROM usage")
    with pytest.raises(QgsProcessingException) as raised:
        report(layers, project_folder / "empty.pdf", ARCHIVE=str(empty))
    assert "Nothing to print: the history archive holds no usage yet (import usage first)." in str(raised.value)


def test_png_pages_that_cannot_be_written_are_refused_before_any_work(layers, project_folder, tmp_path):
    (tmp_path / "a file").write_text("")
    output = project_folder / "png_refused.pdf"
    with pytest.raises(QgsProcessingException) as raised:
        report(layers, output, AREA="Camden", PNG_FOLDER=str(tmp_path / "a file" / "pages"))
    assert "Cannot write the PNG pages to" in str(raised.value)
    assert not output.exists()


@pytest.mark.parametrize("extra, message", [
    ({"PERIOD_START": "2031-01-01", "PERIOD_END": "2031-04-01"}, "Nothing to print: the history archive holds no usage"),
    ({"AREA": "Camdn"}, "no area called 'Camdn' (field name). Did you mean Camden?"),
    ({"AREAS": "empty"}, "Nothing to print: choose a boroughs layer with at least one area."),
    ({"AREAS": "far away"}, "Nothing to print: no charge point lies in any area of the area layer."),
])
def test_bad_input_says_why_and_leaves_no_pdf(layers, project_folder, extra, message):
    output = project_folder / "bad" / "report.pdf"
    output.parent.mkdir(exist_ok=True)
    folders = project_folder / "ev_charge_layers"
    before = set(folders.iterdir()) if folders.exists() else set()
    if extra.get("AREAS") in ("empty", "far away"):
        extra = {"AREAS": _areas(far_away=extra["AREAS"] == "far away"), "WARDS": None}
    with pytest.raises(QgsProcessingException) as raised:
        report(layers, output, **extra)
    assert message in str(raised.value)
    assert list(output.parent.iterdir()) == []
    assert (set(folders.iterdir()) if folders.exists() else set()) == before  # the run's folder went too


def test_an_unwritable_output_is_refused_before_any_work(layers, project_folder, tmp_path):
    (tmp_path / "a file").write_text("")
    for output in (tmp_path / "no such folder" / "report.pdf", tmp_path / "a file" / "report.pdf", "/proc/report.pdf"):
        with pytest.raises(QgsProcessingException) as raised:
            report(layers, output)
        assert "Cannot write the PDF to" in str(raised.value)


def test_a_cancelled_export_leaves_no_pdf_no_layers_and_no_layout(layers, project_folder):
    import processing

    output = project_folder / "cancelled.pdf"
    folders = project_folder / "ev_charge_layers"
    before = set(folders.iterdir()) if folders.exists() else set()
    layouts = len(QgsProject.instance().layoutManager().printLayouts())
    feedback = QgsProcessingFeedback()
    # The PDF is the last fifth of the progress bar: cancel while it is being written.
    feedback.progressChanged.connect(lambda value: value > 85 and feedback.cancel())
    result = processing.run("evcharge:committeereport", {
        "CHARGEPOINTS": layers["charge_points"], "AREAS": layers["boroughs"], "ARCHIVE": layers["archive"], "OUTPUT": str(output), **Q3},
        feedback=feedback)
    assert feedback.isCanceled() and "PAGES" not in result
    assert not output.exists() and not list(project_folder.glob(".cancelled.pdf*"))
    assert (set(folders.iterdir()) if folders.exists() else set()) == before
    assert len(QgsProject.instance().layoutManager().printLayouts()) == layouts


def _areas(far_away: bool) -> QgsVectorLayer:
    """A boroughs layer with no areas, or with one area in Scotland, where no demo charge point lies."""
    layer = QgsVectorLayer("Polygon?crs=EPSG:27700&field=name:string", "boroughs", "memory")
    if far_away:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt("POLYGON((300000 700000, 310000 700000, 310000 710000, 300000 710000, 300000 700000))"))
        feature["name"] = "Highland"
        layer.dataProvider().addFeatures([feature])
    return layer
