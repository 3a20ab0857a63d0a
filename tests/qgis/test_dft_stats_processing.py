"""evcharge:importdftstats through processing.run, on DfT-shaped xlsx and ods workbooks."""
import pytest
from dft_fixtures import AREAS, QUARTERS, expected, write_dft_workbook
from qgis.PyQt.QtCore import QDate, QVariant

pytestmark = pytest.mark.qgis


@pytest.mark.parametrize("suffix, layout", [("xlsx", {}), ("ods", {"old_names": True, "extra_notes": True, "suffix_headers": True})])
def test_one_row_per_area_quarter_and_speed(qgis_app, tmp_path, suffix, layout):
    import processing

    path = write_dft_workbook(tmp_path / f"dft.{suffix}", **layout)
    results = processing.run("evcharge:importdftstats", {"INPUT": str(path), "OUTPUT": "TEMPORARY_OUTPUT"})
    layer = results["OUTPUT"]
    try:
        fields = layer.fields()
        assert fields.names() == ["gss_code", "name", "quarter", "speed", "devices"]
        assert [fields.field(name).type() for name in fields.names()] == [QVariant.String, QVariant.String, QVariant.Date, QVariant.String, QVariant.LongLong]
        assert layer.featureCount() == len(AREAS) * len(QUARTERS) * 2 == results["ROWS"]
        assert (results["AREAS"], results["QUARTERS"], results["MISSING"]) == (len(AREAS), len(QUARTERS), 4)
        rows = {(f["gss_code"], f["speed"], f["quarter"]): f["devices"] for f in layer.getFeatures()}
        assert rows[("E09000007", "all", QDate(2025, 10, 1))] == expected("E09000007", "all", QUARTERS[-1])
        assert rows[("E09000033", "all", QDate(2025, 10, 1))] == 3456
        assert rows[("E12000007", "rapid", QDate(2019, 10, 1))] == expected("E12000007", "rapid", QUARTERS[0])
        camden_rapid = rows[("E09000007", "rapid", QDate(2019, 10, 1))]  # [x] in the workbook
        assert camden_rapid is None or (isinstance(camden_rapid, QVariant) and camden_rapid.isNull())
    finally:
        layer = None


def test_the_report_lists_the_cells_not_available(qgis_app, tmp_path):
    import processing

    path = write_dft_workbook(tmp_path / "dft.xlsx", with_rapid=False)
    results = processing.run("evcharge:importdftstats", {"INPUT": str(path), "OUTPUT": "TEMPORARY_OUTPUT", "REPORT": "TEMPORARY_OUTPUT"})
    report = results["REPORT"]
    try:
        problems = sorted((f["field"], None if isinstance(f["record"], QVariant) else f["record"], f["severity"]) for f in report.getFeatures())
        assert problems == [("1a Jan-20", 7, "rejected"), ("1b", None, "warning")]  # City of London's ".."; no sheet 1b
        assert results["MISSING"] == 1
    finally:
        report = None


def test_a_file_that_is_not_a_workbook_is_refused_clearly(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    path = tmp_path / "dft.xlsx"
    path.write_text("Local authority / region code,Oct-25\nE09000007,5\n", encoding="utf-8")
    with pytest.raises(QgsProcessingException) as refused:
        processing.run("evcharge:importdftstats", {"INPUT": str(path), "OUTPUT": "TEMPORARY_OUTPUT"})
    assert "dft.xlsx is not an xlsx or ods workbook." in str(refused.value)
