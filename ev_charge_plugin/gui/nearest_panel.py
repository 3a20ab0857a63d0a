"""Nearest charge points to a place: a map tool, a typed coordinate or a charge point's name,
answered by evcharge:nearest as a background task, listed in the dock and highlighted on the map."""
import re

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsExpression,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsMapLayerProxyModel,
    QgsPointXY,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsMapLayerComboBox, QgsMapToolEmitPoint, QgsRubberBand
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..toolbelt.i18n import tr
from ..toolbelt.tasks import AlgorithmRun
from .layer_combos import on_layer_change

ALGORITHM_ID = "evcharge:nearest"
RESULT_COLUMNS = (("rank", "#"), ("distance_m", "Distance (m)"), ("name", "Name"), ("operator", "Operator"),
                  ("power_kw", "Power (kW)"), ("connector_types", "Connectors"), ("status", "Status"))
# "51.5074, -0.1278" (latitude, longitude) or "530000 180000" (easting, northing).
COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*$")
HIGHLIGHT = QColor("#ff00ff")


def parse_place(text: str):
    """``(QgsPointXY, EPSG code)`` from typed coordinates, or None: small numbers are latitude and
    longitude (WGS84), large ones easting and northing (British National Grid)."""
    match = COORDINATES.match(text or "")
    if not match:
        return None
    first, second = float(match.group(1)), float(match.group(2))
    if abs(first) <= 90 and abs(second) <= 180:
        return QgsPointXY(second, first), 4326
    return QgsPointXY(first, second), 27700


class PlaceTool(QgsMapToolEmitPoint):
    """Click a place on the map."""

    placed = pyqtSignal(QgsPointXY)

    def __init__(self, canvas):
        super().__init__(canvas)
        self.canvasClicked.connect(lambda point, _button: self.placed.emit(point))


class NearestPanel(QWidget):
    """The dock's *Nearest* tab."""

    # outcome, message
    answered = pyqtSignal(str, str)

    def __init__(self, canvas, parent=None):
        super().__init__(parent)
        self.setObjectName("EvChargeNearestPanel")
        self.canvas = canvas
        self.run = None
        self.tool = PlaceTool(canvas)
        self.tool.placed.connect(lambda point: self.search(point, canvas.mapSettings().destinationCrs()))
        # Choosing another map tool (pan, say) ends picking: the button must say so.
        self.tool.deactivated.connect(lambda: self.pick_button.setChecked(False))
        self.bands = []

        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(QgsMapLayerProxyModel.PointLayer)
        self.layer_combo.setToolTip(tr("The charge points to search: a loaded charge point layer or a live-status layer."))
        on_layer_change(self.layer_combo, lambda _: self._update_names())
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, 50)
        self.count_spin.setValue(5)
        self.rapid_check = QCheckBox(tr("Rapid only (50 kW and over)"))
        self.available_check = QCheckBox(tr("Available only"))
        self.available_check.setToolTip(tr("Status AVAILABLE in the layer: refresh the live status first for an up-to-date answer."))
        self.pick_button = QPushButton(tr("&Pick a place on the map"))
        self.pick_button.setCheckable(True)
        self.pick_button.toggled.connect(self._pick)
        self.place_edit = QLineEdit()
        self.place_edit.setPlaceholderText(tr("51.5074, -0.1278 or 530000 180000, or a charge point's name"))
        self.place_edit.returnPressed.connect(self.search_typed)
        self.completer = QCompleter([], self)
        self.completer.setCaseSensitivity(Qt.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchContains)
        self.place_edit.setCompleter(self.completer)

        self.table = QTableWidget(0, len(RESULT_COLUMNS))
        self.table.setObjectName("nearestTable")
        self.table.setHorizontalHeaderLabels([tr(label) for _, label in RESULT_COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.status_label = QLabel(tr("Click a place on the map, or type one, to list its nearest charge points."))
        self.status_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow(tr("Charge points"), self.layer_combo)
        form.addRow(tr("How many"), self.count_spin)
        filters = QHBoxLayout()
        filters.addWidget(self.rapid_check)
        filters.addWidget(self.available_check)
        form.addRow(filters)
        form.addRow(self.pick_button)
        form.addRow(tr("Or a place"), self.place_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        self._update_names()

    # -- asking ---------------------------------------------------------------
    def _pick(self, on):
        if on:
            self.canvas.setMapTool(self.tool)
        elif self.canvas.mapTool() is self.tool:
            self.canvas.unsetMapTool(self.tool)

    def _update_names(self):
        """Offer the layer's charge point names as the user types (read by the data provider, not feature by feature)."""
        layer = self.layer_combo.currentLayer()
        index = layer.fields().indexOf("name") if layer is not None else -1
        names = layer.uniqueValues(index) if index >= 0 else set()
        self.completer.model().setStringList(sorted(str(name) for name in names if isinstance(name, str) and name))

    def search_typed(self):
        text = self.place_edit.text().strip()
        parsed = parse_place(text)
        if parsed is not None:
            point, epsg = parsed
            return self.search(point, QgsCoordinateReferenceSystem(f"EPSG:{epsg}"))
        layer = self.layer_combo.currentLayer()
        if layer is not None and "name" in layer.fields().names():
            # The provider finds the charge point; the name is quoted, as anything put into an expression must be.
            request = QgsFeatureRequest(QgsExpression(f"lower({QgsExpression.quotedColumnRef('name')}) = lower({QgsExpression.quotedValue(text)})"))
            for feature in layer.getFeatures(request.setLimit(1)):
                if not feature.geometry().isNull():
                    return self.search(feature.geometry().asPoint(), layer.crs())
        self.status_label.setText(tr("{text!r} is neither coordinates nor the name of a charge point in the layer.").format(text=text))
        return False

    def search(self, point: QgsPointXY, crs) -> bool:
        """List the charge points nearest ``point`` (in ``crs``), worked out by evcharge:nearest as a task."""
        layer = self.layer_combo.currentLayer()
        if layer is None:
            self.status_label.setText(tr("Load charge points first (EV Charge Points > Load charge points...)."))
            return False
        if self.run is not None:
            self.run.cancel()
        origin = QgsVectorLayer(f"Point?crs={crs.authid()}&field=place:string", "place", "memory")
        feature = QgsFeature(origin.fields())
        feature.setAttributes([tr("clicked place")])
        feature.setGeometry(QgsGeometry.fromPointXY(point))
        origin.dataProvider().addFeatures([feature])
        self.origin = origin  # the task reads it: keep it alive until the run ends
        self._clear_highlight()
        self._highlight([QgsCoordinateTransform(crs, self.canvas.mapSettings().destinationCrs(), QgsProject.instance()).transform(point)], QColor("#000000"))
        self.run = AlgorithmRun(ALGORITHM_ID, {
            "ORIGINS": origin, "ORIGIN_ID_FIELD": "place", "CHARGEPOINTS": layer, "COUNT": self.count_spin.value(),
            "RAPID_ONLY": self.rapid_check.isChecked(), "AVAILABLE_ONLY": self.available_check.isChecked(), "OUTPUT": "TEMPORARY_OUTPUT",
        }, tr("Nearest charge points"), self)
        self.run.finished.connect(self._finished)
        self.status_label.setText(tr("Searching..."))
        self.run.start()
        return True

    # -- answering ------------------------------------------------------------
    def _finished(self, successful, results, context, log):
        from .task_dialog import FAILED, SUCCEEDED, last_error

        self.run = None
        if not successful:
            message = tr("The search failed: {reason}").format(reason=last_error(log))
            self.status_label.setText(message)
            self.answered.emit(FAILED, message)
            return
        lines = context.takeResultLayer(results["OUTPUT"])
        rows = sorted(lines.getFeatures(), key=lambda feature: feature["rank"])
        self.table.setRowCount(len(rows))
        to_canvas = QgsCoordinateTransform(lines.crs(), self.canvas.mapSettings().destinationCrs(), QgsProject.instance())
        ends = []
        for row, feature in enumerate(rows):
            for column, (name, _) in enumerate(RESULT_COLUMNS):
                value = feature[name]
                text = "" if value is None or hasattr(value, "isNull") else f"{value:,.0f}" if name == "distance_m" else f"{value:g}" if name == "power_kw" else str(value)
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, feature["chargepoint_id"])
                self.table.setItem(row, column, item)
            ends.append(to_canvas.transform(feature.geometry().asPolyline()[-1]))
        self.table.resizeColumnsToContents()
        self._highlight(ends, HIGHLIGHT)
        message = tr("{count} nearest charge points; the nearest is {distance:,.0f} m away.").format(
            count=len(rows), distance=rows[0]["distance_m"]) if rows else tr("No charge point passes the filters.")
        self.status_label.setText(message)
        self.answered.emit(SUCCEEDED, message)

    def result_ids(self) -> list:
        """The charge point ids listed, nearest first."""
        return [self.table.item(row, 0).data(Qt.UserRole) for row in range(self.table.rowCount())]

    def _highlight(self, points, colour):
        band = QgsRubberBand(self.canvas, QgsWkbTypes.PointGeometry)
        band.setColor(colour)
        band.setIconSize(14 if colour == HIGHLIGHT else 10)
        band.setIcon(QgsRubberBand.ICON_CIRCLE)
        band.setWidth(3)
        for point in points:
            band.addPoint(point)
        self.bands.append(band)

    def _clear_highlight(self):
        for band in self.bands:
            self.canvas.scene().removeItem(band)
        self.bands = []

    def unload(self):
        """Put everything back: map tool, highlights, a running search."""
        if self.run is not None:
            self.run.cancel()
        self.pick_button.setChecked(False)
        self._clear_highlight()
