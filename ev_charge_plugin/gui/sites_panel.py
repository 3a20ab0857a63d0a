"""The dock's Sites tab: candidate scores with each one's explanation, and the sites chosen.

The layers come from ``evcharge:scorecandidates`` and ``evcharge:selectsites``
(run from their Processing dialogs, which this tab opens with sensible
defaults). Selecting one candidate, on the map or in the table, shows what
its score is made of: each part's contribution (its weight times the part, as
scaled), the figures behind it, and the constraints it breaks.
"""
from qgis.core import QgsMapLayerProxyModel, QgsProject
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..qgis_io.layers import attribute_value
from ..toolbelt.i18n import tr
from .charts import BarChart, chart_box
from .layer_combos import on_layer_change

SCORE_ALGORITHM, SELECT_ALGORITHM = "evcharge:scorecandidates", "evcharge:selectsites"
PART_LABELS = (("new_demand", "New demand within reach"), ("served_demand", "Demand already served"),
               ("pressure", "Pressure on nearby charge points"), ("constraints_broken", "Constraints broken"))
SCORE_TABLE = (("rank", "Rank"), ("name", "Name"), ("score", "Score"), ("new_demand", "New demand"),
               ("served_demand", "Served"), ("pressure", "Pressure"), ("constraints_broken", "Broken"))
CHOSEN_TABLE = (("order", "Order"), ("name", "Name"), ("added_demand", "Added demand"), ("cumulative_share", "Share of unserved"))



def is_scores_layer(layer) -> bool:
    return layer is not None and layer.type() == layer.VectorLayer and {"score", "rank", "new_demand_score"} <= set(layer.fields().names())


def is_chosen_layer(layer) -> bool:
    return layer is not None and layer.type() == layer.VectorLayer and {"order", "added_demand"} <= set(layer.fields().names())


def _text(value, decimals=1) -> str:
    value = attribute_value(value)
    if value is None:
        return ""
    return f"{value:,.{decimals}f}" if isinstance(value, float) else str(value)


class SitesPanel(QWidget):
    # a candidate's explanation, as shown
    explained = pyqtSignal(str)

    def __init__(self, canvas=None, parent=None):
        super().__init__(parent)
        self.canvas = canvas
        self.linked = None
        self.dialogs = []  # the Processing dialogs opened from here, closed on unload
        self.scores_combo = QgsMapLayerComboBox()
        self.scores_combo.setFilters(QgsMapLayerProxyModel.PointLayer)
        self.scores_combo.setAllowEmptyLayer(True)
        self.scores_combo.setToolTip(tr("A layer made by Score candidates (it has score, rank and one field per part)."))
        self.chosen_combo = QgsMapLayerComboBox()
        self.chosen_combo.setFilters(QgsMapLayerProxyModel.PointLayer)
        self.chosen_combo.setAllowEmptyLayer(True)
        self.chosen_combo.setToolTip(tr("A layer made by Choose best sites (it has order and added_demand)."))
        for combo in (self.scores_combo, self.chosen_combo):
            combo.setLayer(None)
        self.score_button = QPushButton(tr("Score candidates..."))
        self.choose_button = QPushButton(tr("Choose best sites..."))
        self.scores_table = self._table(SCORE_TABLE, "siteScores")
        self.chosen_table = self._table(CHOSEN_TABLE, "chosenSites")
        self.breakdown = BarChart()
        self.breakdown.setObjectName("siteBreakdown")
        self.breakdown.fixed_order = True  # the parts in the order the explanation reads them
        self.explanation = QLabel(tr("Select one candidate (on the map or in the table) to see what its score is made of."))
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.RichText)

        buttons = QHBoxLayout()
        buttons.addWidget(self.score_button)
        buttons.addWidget(self.choose_button)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(buttons)
        top_layout.addWidget(QLabel(tr("Scores")))
        top_layout.addWidget(self.scores_combo)
        top_layout.addWidget(self.scores_table, 1)
        explain = QWidget()
        explain_layout = QVBoxLayout(explain)
        explain_layout.setContentsMargins(0, 0, 0, 0)
        explain_layout.addWidget(self.explanation)
        explain_layout.addWidget(chart_box(self.breakdown, "site_breakdown"), 1)
        chosen = QWidget()
        chosen_layout = QVBoxLayout(chosen)
        chosen_layout.setContentsMargins(0, 0, 0, 0)
        chosen_layout.addWidget(QLabel(tr("Chosen sites")))
        chosen_layout.addWidget(self.chosen_combo)
        chosen_layout.addWidget(self.chosen_table, 1)
        splitter = QSplitter(Qt.Vertical)
        for widget in (top, explain, chosen):
            splitter.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        on_layer_change(self.scores_combo, self._scores_changed)
        on_layer_change(self.chosen_combo, self._fill_chosen)
        self.scores_table.itemSelectionChanged.connect(self._row_chosen)
        self.chosen_table.itemSelectionChanged.connect(self._chosen_row)
        QgsProject.instance().layersAdded.connect(self._layers_added)

    @staticmethod
    def _table(columns, name) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setObjectName(name)
        table.setHorizontalHeaderLabels([tr(label) for _, label in columns])
        table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectRows)
        table.setSelectionMode(QAbstractItemView.SingleSelection)
        table.verticalHeader().setVisible(False)
        return table

    def _layers_added(self, layers):
        """A new scores or chosen-sites layer (a run just finished) is shown at once."""
        for layer in layers:
            if is_scores_layer(layer):
                self.scores_combo.setLayer(layer)
            elif is_chosen_layer(layer):
                self.chosen_combo.setLayer(layer)

    # -- scores -----------------------------------------------------------------------------------------------

    def _scores_changed(self, layer):
        if self.linked is not None:
            try:
                self.linked.selectionChanged.disconnect(self._explain_selection)
            except (TypeError, RuntimeError):
                pass  # already gone
        self.linked = layer if is_scores_layer(layer) else None
        rows = sorted(self.linked.getFeatures(), key=lambda feature: attribute_value(feature["rank"]) or 0) if self.linked else []
        self.scores_table.setRowCount(len(rows))
        for row, feature in enumerate(rows):
            for column, (name, _) in enumerate(SCORE_TABLE):
                value = feature[name] if feature.fields().lookupField(name) >= 0 else ""
                item = QTableWidgetItem(_text(value, 3 if name == "score" else 1))
                item.setData(Qt.UserRole, feature.id())
                self.scores_table.setItem(row, column, item)
        self.scores_table.resizeColumnsToContents()
        if self.linked is not None:
            self.linked.selectionChanged.connect(self._explain_selection)
        self._explain_selection()

    def _row_chosen(self):
        items = self.scores_table.selectedItems()
        if items and self.linked is not None:
            fid = items[0].data(Qt.UserRole)
            self.linked.selectByIds([fid])
            if self.canvas is not None:
                self.canvas.zoomToSelected(self.linked)
                self.canvas.refresh()

    def _explain_selection(self, *_):
        layer = self.linked
        selected = layer.selectedFeatureIds() if layer is not None else []
        if len(selected) != 1:
            self.breakdown.set_data([], [])
            self.explanation.setText(tr("Select one candidate (on the map or in the table) to see what its score is made of."))
            return
        self.explain(layer.getFeature(selected[0]))

    def explain(self, feature) -> str:
        """Show ``feature``'s score as the sum of its parts; returns the explanation's text."""
        values = [attribute_value(feature[f"{part}_score"]) or 0.0 for part, _ in PART_LABELS]
        self.breakdown.set_data([tr(label) for _, label in PART_LABELS], values, unit=tr("of the score"), decimals=3)
        self.breakdown.set_title(tr("What the score is made of"))
        name = attribute_value(feature["name"]) if feature.fields().lookupField("name") >= 0 else None
        constraints = attribute_value(feature["constraints"]) if feature.fields().lookupField("constraints") >= 0 else None
        broken = attribute_value(feature["constraints_broken"]) or 0
        text = tr(
            "<b>{name}</b>: rank {rank}, score {score:.3f} (the sum of the bars).<br>"
            "Demand newly within walking distance: {new:,.0f}. Already served by a charge point: {served:,.0f}. "
            "Utilisation of nearby charge points: {pressure:.1f}. Constraints broken: {broken}.<br>"
            "Weights: {weights}."
        ).format(name=name or tr("Candidate {fid}").format(fid=feature.id()), rank=attribute_value(feature["rank"]),
                 score=attribute_value(feature["score"]) or 0.0, new=attribute_value(feature["new_demand"]) or 0.0,
                 served=attribute_value(feature["served_demand"]) or 0.0, pressure=attribute_value(feature["pressure"]) or 0.0,
                 broken=f"{broken} ({constraints})" if broken and constraints else (broken or tr("none")),
                 weights=attribute_value(feature["weights"]) if feature.fields().lookupField("weights") >= 0 else "")
        self.explanation.setText(text)
        self.explained.emit(text)
        return text

    # -- chosen sites ---------------------------------------------------------------------------------------------

    def _fill_chosen(self, layer):
        rows = sorted(layer.getFeatures(), key=lambda feature: attribute_value(feature["order"]) or 0) if is_chosen_layer(layer) else []
        self.chosen_table.setRowCount(len(rows))
        for row, feature in enumerate(rows):
            for column, (name, _) in enumerate(CHOSEN_TABLE):
                value = feature[name] if feature.fields().lookupField(name) >= 0 else ""
                if name == "cumulative_share" and attribute_value(value) is not None:
                    value = f"{value * 100:.1f}%"
                item = QTableWidgetItem(_text(value, 0))
                item.setData(Qt.UserRole, feature.id())
                self.chosen_table.setItem(row, column, item)
        self.chosen_table.resizeColumnsToContents()

    def _chosen_row(self):
        items = self.chosen_table.selectedItems()
        layer = self.chosen_combo.currentLayer()
        if items and layer is not None:
            layer.selectByIds([items[0].data(Qt.UserRole)])
            if self.canvas is not None:
                self.canvas.zoomToSelected(layer)
                self.canvas.refresh()

    # -- the Processing dialogs -------------------------------------------------------------------------------------

    def dialog_defaults(self, algorithm: str, candidates=None, chargepoints=None, demand=None) -> dict:
        """Parameters a dialog opens with: the candidate layer, the charge points and the wards in use."""
        parameters = {}
        if candidates is not None:
            parameters["CANDIDATES"] = candidates.id()
        if demand is not None:
            parameters["DEMAND"] = demand.id()
            names = demand.fields().names()
            if "households_no_offstreet" in names:
                parameters["DEMAND_FIELD"] = "households_no_offstreet"
        if chargepoints is not None:
            parameters["CHARGEPOINTS" if algorithm == SCORE_ALGORITHM else "EXISTING"] = chargepoints.id()
        return parameters

    def open_dialog(self, algorithm: str, parameters: dict):
        """QGIS's own Processing dialog for ``algorithm`` (help, progress, Cancel, runs in the background)."""
        from processing.gui.AlgorithmDialog import AlgorithmDialog
        from qgis.core import QgsApplication

        # As processing.createAlgorithmDialog does, parented to this window rather than to iface's.
        dialog = AlgorithmDialog(QgsApplication.processingRegistry().createAlgorithmById(algorithm), parent=self.window())
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.setParameters(parameters)
        dialog.destroyed.connect(lambda *_, dialog=dialog: self.dialogs.remove(dialog) if dialog in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def unload(self):
        for dialog in list(self.dialogs):
            dialog.close()
        self.dialogs.clear()
        self._scores_changed(None)
        try:
            QgsProject.instance().layersAdded.disconnect(self._layers_added)
        except (TypeError, RuntimeError):
            pass
