"""Style by utilisation...: pick a period and a metric, compute utilisation as a task, style the map."""
from datetime import timedelta

from qgis.PyQt.QtCore import QDate, QSize, Qt
from qgis.PyQt.QtWidgets import QComboBox, QDateEdit, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget
from qgis.core import QgsStyle, QgsSymbolLayerUtils

from ..qgis_io.project import new_layer_file
from ..toolbelt.i18n import tr
from .import_dialog import ArchiveWidget, set_project_archive
from .task_dialog import TaskDialog

ALGORITHM_ID = "evcharge:utilisation"
ONE_PERIOD, LAST_12_MONTHS, EVERY_PERIOD, CUSTOM = "period", "12months", "every", "custom"


def method_labels() -> dict:
    """The classification methods (qgis_io.symbology.CLASSIFICATION_METHODS) as the picker names them."""
    return {
        "quantile": tr("Quantile (equal count)"),
        "jenks": tr("Natural breaks (Jenks)"),
        "equal": tr("Equal interval"),
        "pretty": tr("Pretty breaks"),
    }


def period_choices(periods) -> list:
    """``(label, kind, start, end)`` choices for an archive's periods (a frame of period_start/period_end), newest first."""
    import pandas as pd

    from ..core.usage import period_label

    if periods.empty:
        return []
    periods = periods.sort_values(["period_end", "period_start"], ascending=False)
    first, last = periods["period_start"].min().date(), periods["period_end"].max().date()
    choices = [(period_label(row.period_start, row.period_end), ONE_PERIOD, row.period_start.date(), row.period_end.date())
               for row in periods.itertuples()]
    year_start = (pd.Timestamp(last) - pd.DateOffset(years=1)).date()
    choices.insert(min(1, len(choices)), (tr("Last 12 months ({period})").format(period=period_label(year_start, last)), LAST_12_MONTHS, year_start, last))
    choices.append((tr("Every period, one step each in the temporal controller ({period})").format(period=period_label(first, last)), EVERY_PERIOD, first, last))
    choices.append((tr("Custom range..."), CUSTOM, first, last))
    return choices


class StyleByUtilisationDialog(TaskDialog):
    ALGORITHM_ID = ALGORITHM_ID

    def __init__(self, parent=None):
        from ..core.utilisation import metrics
        from ..qgis_io.symbology import RendererSettings

        super().__init__(tr("Style by utilisation"), "EvChargeStyleDialog", parent)
        settings = RendererSettings.load()
        self.archive_widget = ArchiveWidget()
        self.archive_widget.fileChanged.connect(self.load_periods)

        self.period_combo = QComboBox()
        self.period_combo.setObjectName("periodCombo")
        self.period_combo.currentIndexChanged.connect(self._update_custom)
        self.from_edit, self.to_edit = QDateEdit(), QDateEdit()
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
        self.to_edit.setToolTip(tr("The last day of the range, included."))
        custom = QHBoxLayout()
        custom.addWidget(QLabel(tr("From")))
        custom.addWidget(self.from_edit)
        custom.addWidget(QLabel(tr("to")))
        custom.addWidget(self.to_edit)

        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("metricCombo")
        for index, metric in enumerate(metrics().values()):
            self.metric_combo.addItem(metric.label, metric.key)
            self.metric_combo.setItemData(index, metric.long, Qt.ToolTipRole)
        self.definition_label = QLabel()
        self.definition_label.setWordWrap(True)
        self.metric_combo.currentIndexChanged.connect(self._show_definition)
        self.metric_combo.setCurrentIndex(max(0, self.metric_combo.findData(settings.metric)))

        self.method_combo = QComboBox()
        self.method_combo.setObjectName("methodCombo")
        for key, label in method_labels().items():
            self.method_combo.addItem(label, key)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(settings.method)))
        self.classes_spin = QSpinBox()
        self.classes_spin.setRange(2, 12)
        self.classes_spin.setValue(settings.classes)
        self.ramp_combo = QComboBox()
        self.ramp_combo.setObjectName("rampCombo")
        style = QgsStyle.defaultStyle()
        for name in style.colorRampNames():
            self.ramp_combo.addItem(QgsSymbolLayerUtils.colorRampPreviewIcon(style.colorRamp(name), QSize(48, 16)), name, name)
        self.ramp_combo.setIconSize(QSize(48, 16))
        self.ramp_combo.setCurrentIndex(max(0, self.ramp_combo.findData(settings.ramp)))

        what = QGroupBox(tr("What to show"))
        what_layout = QFormLayout(what)
        what_layout.addRow(tr("History archive"), self.archive_widget)
        what_layout.addRow(tr("Period"), self.period_combo)
        what_layout.addRow("", custom)
        what_layout.addRow(tr("Metric"), self.metric_combo)
        what_layout.addRow("", self.definition_label)
        classes = QGroupBox(tr("Classes"))
        classes_layout = QFormLayout(classes)
        classes_layout.addRow(tr("Method"), self.method_combo)
        classes_layout.addRow(tr("Number of classes"), self.classes_spin)
        classes_layout.addRow(tr("Colour ramp"), self.ramp_combo)

        inputs = QWidget()
        inputs_layout = QVBoxLayout(inputs)
        inputs_layout.setContentsMargins(0, 0, 0, 0)
        inputs_layout.addWidget(what)
        inputs_layout.addWidget(classes)
        inputs_layout.addStretch(1)
        self.build(inputs, self._help_html(), tr("&Style"))
        self.resize(820, 520)
        self._show_definition()
        self.load_periods()
        self._update_enabled()

    def _help_html(self):
        from ..core.utilisation import definitions_html

        definitions = definitions_html("label")
        return tr(
            "<h3>Style by utilisation</h3>"
            "<p>Computes each charge point's utilisation from the <b>history archive</b> for the "
            "chosen period, adds it as a layer and styles it by the chosen metric. The legend title "
            "names the metric and the period; grey markers had no usage data in it. Marker shapes "
            "keep the speed band: circle slow, square fast, triangle rapid, star ultra-rapid.</p>"
            "<p><b>Every period</b> gives one point per charge point per period, and the temporal "
            "controller (View &gt; Panels &gt; Temporal Controller) steps through them.</p>"
            "<p>Metrics are computed from summed hours, sessions and energy, never by averaging "
            "percentages:</p><ul>{definitions}</ul>"
            "<p>The classes and colour ramp you choose are remembered. The same computation is the "
            "Processing algorithm <i>EV Charge Points &gt; Utilisation per charge point</i>.</p>"
        ).format(definitions=definitions)

    # -- state ----------------------------------------------------------------
    def load_periods(self):
        """List the archive's periods (a small query, quick enough for the GUI thread)."""
        from pathlib import Path

        from ..core.archive import Archive
        from ..core.errors import EvChargeError

        self.period_combo.clear()
        path = self.archive_widget.filePath().strip()
        if not path or not Path(path).is_file():
            self.status_label.setText(tr("No history archive there yet: import usage first (EV Charge Points > Import usage...)."))
            self._update_enabled()
            return
        try:
            with Archive(path) as archive:
                choices = period_choices(archive.periods())
            message = tr("Ready.") if choices else tr("The archive holds no usage yet: import usage first.")
        except EvChargeError as error:
            choices, message = [], str(error)
        for label, kind, start, end in choices:
            self.period_combo.addItem(label, (kind, start, end))
        self.status_label.setText(message)
        self._update_custom()
        self._update_enabled()

    def _update_custom(self):
        data = self.period_combo.currentData()
        custom = bool(data) and data[0] == CUSTOM
        if data and not custom:
            self.from_edit.setDate(QDate(data[1]))
            self.to_edit.setDate(QDate(data[2] - timedelta(days=1)))
        for edit in (self.from_edit, self.to_edit):
            edit.setEnabled(custom and self.run is None)

    def _show_definition(self):
        from ..core.utilisation import metrics

        metric = metrics()[self.metric_combo.currentData()]
        self.definition_label.setText(f"<i>{metric.short}</i> {metric.long}")
        self.metric_combo.setToolTip(metric.long)

    def period(self):
        """``(start, end, by_period)``; ``end`` exclusive."""
        kind, start, end = self.period_combo.currentData()
        if kind == CUSTOM:
            start, end = self.from_edit.date().toPyDate(), self.to_edit.date().toPyDate() + timedelta(days=1)
        return start, end, kind == EVERY_PERIOD

    def renderer_settings(self):
        from ..qgis_io.symbology import RendererSettings

        return RendererSettings(method=self.method_combo.currentData(), classes=self.classes_spin.value(),
                                ramp=self.ramp_combo.currentData() or RendererSettings.ramp, metric=self.metric_combo.currentData())

    def remember(self):
        self.renderer_settings().save()
        set_project_archive(self.archive_widget.filePath().strip())

    def set_running(self, running):
        for widget in (self.archive_widget, self.period_combo, self.metric_combo, self.method_combo, self.classes_spin, self.ramp_combo):
            widget.setEnabled(not running)
        self._update_custom()

    def problem(self):
        if self.period_combo.count() == 0:
            return tr("Choose a history archive that holds usage.")
        start, end, _ = self.period()
        if end <= start:
            return tr("The range ends before it starts.")
        return ""

    def description(self):
        from ..core.usage import period_label

        start, end, _ = self.period()
        return tr("Utilisation: {period}").format(period=period_label(start, end))

    def parameters(self) -> dict:
        from ..core.utilisation import METRIC_KEYS

        start, end, by_period = self.period()
        return {
            "ARCHIVE": self.archive_widget.filePath().strip(),
            "PERIOD_START": start.isoformat(),
            "PERIOD_END": end.isoformat(),
            "BY_PERIOD": by_period,
            "METRIC": METRIC_KEYS.index(self.metric_combo.currentData()),
            "OUTPUT": new_layer_file("utilisation"),
        }

    def success_message(self, results):
        return tr("{period}: {with_usage:,} of {count:,} charge points have usage data.").format(
            period=results["PERIOD"], with_usage=int(results["WITH_USAGE"]), count=int(results["CHARGEPOINTS"]))
