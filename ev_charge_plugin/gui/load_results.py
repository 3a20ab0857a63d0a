"""What a finished load adds to the project: styled layers in the plugin's group."""
from pathlib import Path

from qgis.PyQt.QtWidgets import QFileDialog
from qgis.core import Qgis, QgsVectorLayer

from ..qgis_io.layers import set_layer_metadata, write_csv
from ..qgis_io.project import add_to_plugin_group, result_layer
from ..qgis_io.symbology import apply_chargepoint_style
from ..toolbelt.i18n import tr
from ..toolbelt.metadata import MENU_TITLE


def add_load_results(results, context):
    """Put the load's point and report layers into the project, styled and described."""
    points = result_layer(context, results["OUTPUT"])
    report = context.takeResultLayer(results["REPORT"])
    label = results["LABEL"]
    points.setName(tr("Charge points: {source}").format(source=label))
    apply_chargepoint_style(points)
    description = tr("{loaded:,} charge points loaded from {source}; {rejected:,} records rejected (see the data-quality report).").format(
        loaded=int(results["LOADED"]), rejected=int(results["REJECTED"]), source=label)
    set_layer_metadata(points, points.name(), description)
    add_report_layer(report, tr("Data-quality report: {source}").format(source=label),
                     tr("Every rejected, repaired or flagged record, with its line or feature number, field and reason."))
    add_to_plugin_group(points)
    return points, report


def add_report_layer(report: QgsVectorLayer, name: str, description: str) -> QgsVectorLayer:
    """A report table, named and described, into the plugin's group (unchecked: it has no map to draw)."""
    report.setName(name)
    set_layer_metadata(report, name, description)
    return add_to_plugin_group(report, visible=False)


def save_report_csv(report: QgsVectorLayer, parent=None, message_bar=None) -> None:
    path, _ = QFileDialog.getSaveFileName(parent, tr("Save data-quality report"), str(Path.home() / "data_quality_report.csv"), "CSV (*.csv)")
    if not path:
        return
    error = write_csv(report, path)
    if message_bar is not None:
        if not error:
            message_bar.pushMessage(MENU_TITLE, tr("Report saved to {path}").format(path=path), Qgis.Success, 5)
        else:
            message_bar.pushMessage(MENU_TITLE, tr("Could not save the report: {message}").format(message=error), Qgis.Critical, 0)
