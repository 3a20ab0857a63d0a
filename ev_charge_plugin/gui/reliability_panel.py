"""The dock's Reliability tab: evcharge:reliabilitysummary as a task, least reliable first."""
from qgis.core import QgsMapLayerProxyModel
from qgis.gui import QgsFieldComboBox, QgsMapLayerComboBox
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QAbstractItemView, QFormLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ..toolbelt.i18n import tr
from ..toolbelt.tasks import AlgorithmRun
from .layer_combos import on_layer_change

ALGORITHM_ID = "evcharge:reliabilitysummary"
COLUMNS = (("by", "By"), ("name", "Name"), ("charge_points", "Charge points"), ("reliability_pct", "Reliability %"),
           ("out_of_order_now", "Out of order now"))


class ReliabilityPanel(QWidget):
    # outcome, message
    summarised = pyqtSignal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("EvChargeReliabilityPanel")
        self.run = None
        self.points_combo = QgsMapLayerComboBox()
        self.points_combo.setFilters(QgsMapLayerProxyModel.PointLayer)
        self.points_combo.setToolTip(tr("A live-status layer refreshed with a history archive."))
        self.areas_combo = QgsMapLayerComboBox()
        self.areas_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.areas_combo.setAllowEmptyLayer(True)
        self.areas_combo.setLayer(None)
        self.field_combo = QgsFieldComboBox()
        on_layer_change(self.areas_combo, self._areas_changed)
        self.run_button = QPushButton(tr("&Summarise"))
        self.run_button.clicked.connect(self.summarise)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("reliabilityTable")
        self.table.setHorizontalHeaderLabels([tr(label) for _, label in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.status_label = QLabel(tr("Reliability = snapshots in which a charge point was working (available, charging or reserved) / all its snapshots."))
        self.status_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow(tr("Live status"), self.points_combo)
        form.addRow(tr("Areas"), self.areas_combo)
        form.addRow(tr("Area name"), self.field_combo)
        form.addRow(self.run_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)

    def _areas_changed(self, layer):
        self.field_combo.setLayer(layer)
        if layer is not None:
            names = layer.fields().names()
            self.field_combo.setField(next((name for name in names if name.lower() == "name"), names[0] if names else ""))

    def summarise(self) -> bool:
        points = self.points_combo.currentLayer()
        if points is None or self.run is not None:
            return False
        parameters = {"INPUT": points, "OUTPUT": "TEMPORARY_OUTPUT"}
        if self.areas_combo.currentLayer() is not None:
            parameters.update({"AREAS": self.areas_combo.currentLayer(), "AREA_NAME_FIELD": self.field_combo.currentField()})
        self.run = AlgorithmRun(ALGORITHM_ID, parameters, tr("Reliability by area and operator"), self)
        self.run.finished.connect(self._finished)
        self.run_button.setEnabled(False)
        self.status_label.setText(tr("Summarising..."))
        self.run.start()
        return True

    def _finished(self, successful, results, context, log):
        from .task_dialog import FAILED, SUCCEEDED, last_error

        self.run = None
        self.run_button.setEnabled(True)
        if not successful:
            message = tr("The summary failed: {reason}").format(reason=last_error(log))
            self.status_label.setText(message)
            self.summarised.emit(FAILED, message)
            return
        rows = list(context.takeResultLayer(results["OUTPUT"]).getFeatures())
        self.table.setRowCount(len(rows))
        for row, feature in enumerate(rows):
            for column, (name, _) in enumerate(COLUMNS):
                value = feature[name]
                text = "" if value is None or hasattr(value, "isNull") else f"{value:.1f}" if name == "reliability_pct" else str(value)
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        message = tr("{count} groups, least reliable first.").format(count=len(rows))
        self.status_label.setText(message)
        self.summarised.emit(SUCCEEDED, message)

    def unload(self):
        if self.run is not None:
            self.run.cancel()
