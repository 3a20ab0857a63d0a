"""Import usage...: a usage return, session file or OCPI CDRs into the history archive, as a task."""
from pathlib import Path

from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QGroupBox, QVBoxLayout, QWidget
from qgis.core import QgsProject, QgsSettings
from qgis.gui import QgsFileWidget

from ..qgis_io.project import SCOPE
from ..toolbelt.i18n import tr
from ..toolbelt.metadata import SETTINGS_GROUP
from .load_dialog import FILE_FILTER as CHARGEPOINT_FILE_FILTER
from .task_dialog import NO_SOURCE, SourceChooser, TaskDialog

ALGORITHM_ID = "evcharge:importusage"
REMEMBERED = f"{SETTINGS_GROUP}/import_dialog"
USAGE_FILE_FILTER = ";;".join((
    "Usage files (*.csv *.json *.jsonl *.ndjson)",
    "Quarterly usage return or session CSV (*.csv)",
    "OCPI 2.2.1 CDRs (*.json *.jsonl *.ndjson)",
    "All files (*)",
))
ARCHIVE_FILTER = "GeoPackage (*.gpkg)"
# The archive is remembered per project: each borough project keeps its own history.
PROJECT_ARCHIVE_KEY = "history_archive"
DEFAULT_ARCHIVE_NAME = "ev_charge_history.gpkg"


def project_archive(project=None) -> str:
    """The project's history archive, else the last one used, else a file beside the project (or in the home folder)."""
    project = project or QgsProject.instance()
    path, found = project.readEntry(SCOPE, PROJECT_ARCHIVE_KEY, "")
    if found and path:
        return path
    last = QgsSettings().value(f"{SETTINGS_GROUP}/last_archive", "", type=str)
    if last:
        return last
    folder = Path(project.homePath()) if project.homePath() else Path.home()
    return str(folder / DEFAULT_ARCHIVE_NAME)


def set_project_archive(path: str, project=None) -> None:
    (project or QgsProject.instance()).writeEntry(SCOPE, PROJECT_ARCHIVE_KEY, path)
    QgsSettings().setValue(f"{SETTINGS_GROUP}/last_archive", path)


class ArchiveWidget(QgsFileWidget):
    """Pick an existing archive or name a new one (no overwrite question: the archive is added to, never replaced)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("archiveWidget")
        self.setStorageMode(QgsFileWidget.SaveFile)
        self.setConfirmOverwrite(False)
        self.setFilter(ARCHIVE_FILTER)
        self.setDialogTitle(tr("History archive"))
        self.setToolTip(tr("A GeoPackage that keeps every period ever imported. Choose an existing archive, or name a new one."))
        self.setFilePath(project_archive())


class ImportUsageDialog(TaskDialog):
    ALGORITHM_ID = ALGORITHM_ID

    def __init__(self, parent=None):
        super().__init__(tr("Import usage"), "EvChargeImportDialog", parent)
        self.usage_chooser = SourceChooser(tr("Usage"), (), USAGE_FILE_FILTER, tr("Usage file"))
        self.usage_chooser.file_radio.setText(tr("&File: usage return, session CSV or OCPI CDRs"))
        self.chargepoint_chooser = SourceChooser(tr("Charge points to register with it (optional)"), (), CHARGEPOINT_FILE_FILTER,
                                                 tr("Charge point file"), optional_label=tr("&None: the archive already knows them"))
        self.chargepoint_chooser.setObjectName("chargepointChooser")
        for radio in (self.chargepoint_chooser.datastore_radio, self.chargepoint_chooser.file_radio, self.chargepoint_chooser.demo_radio):
            radio.setText(radio.text().replace("&", ""))  # keep the mnemonics for the usage source
        self.archive_widget = ArchiveWidget()
        self.period_combo = QComboBox()
        self.period_combo.setObjectName("periodCombo")
        self.period_combo.addItem(tr("Quarters"), 0)
        self.period_combo.addItem(tr("Calendar months"), 1)
        self.period_combo.setToolTip(tr("How sessions (session CSV, OCPI CDRs) are summed. Quarterly returns keep their own periods."))

        archive_box = QGroupBox(tr("History archive"))
        archive_layout = QFormLayout(archive_box)
        archive_layout.addRow(tr("Archive"), self.archive_widget)
        archive_layout.addRow(tr("Sum sessions by"), self.period_combo)

        inputs = QWidget()
        inputs_layout = QVBoxLayout(inputs)
        inputs_layout.setContentsMargins(0, 0, 0, 0)
        inputs_layout.addWidget(self.usage_chooser)
        inputs_layout.addWidget(self.chargepoint_chooser)
        inputs_layout.addWidget(archive_box)
        inputs_layout.addStretch(1)
        self.build(inputs, self._help_html(), tr("&Import"))
        self.resize(820, 560)
        self.usage_chooser.restore(f"{REMEMBERED}/usage")
        self.chargepoint_chooser.restore(f"{REMEMBERED}/chargepoints", default_kind=NO_SOURCE)
        self.period_combo.setCurrentIndex(QgsSettings().value(f"{REMEMBERED}/period", 0, type=int))
        self._update_enabled()

    def _help_html(self):
        return tr(
            "<h3>Import usage</h3>"
            "<p>Adds a usage return to the <b>history archive</b>, which keeps every period ever "
            "imported, with the file and time of each import.</p>"
            "<p><b>Usage</b>: the plugin's quarterly return CSV (one row per charge point per "
            "quarter, see <i>docs/data-standard.md</i>), a session CSV (one row per charging "
            "session), or OCPI 2.2.1 CDRs. A private London Datastore dataset needs an API key in "
            "<i>Settings</i>.</p>"
            "<p><b>Charge points</b>: usage can only be kept for charge points the archive knows. "
            "Register them here the first time, or whenever an operator sends new ones; changed "
            "attributes are kept as history.</p>"
            "<p>A session that crosses a quarter boundary is split by time. A newer return for the "
            "same charge point and period <b>replaces</b> the older one (which is kept aside, never "
            "counted); importing the same file again changes nothing; if anything fails, the archive "
            "is left exactly as it was.</p>"
            "<p>Every rejected row is listed in the import report, with its line, field and "
            "reason. The same import is the Processing algorithm <i>EV Charge Points &gt; Import "
            "usage into the history archive</i>.</p>"
        )

    def archive_path(self) -> str:
        path = self.archive_widget.filePath().strip()
        return path if not path or path.lower().endswith(".gpkg") else path + ".gpkg"

    def remember(self):
        self.usage_chooser.remember(f"{REMEMBERED}/usage")
        self.chargepoint_chooser.remember(f"{REMEMBERED}/chargepoints")
        QgsSettings().setValue(f"{REMEMBERED}/period", self.period_combo.currentIndex())
        set_project_archive(self.archive_path())

    def set_running(self, running):
        for widget in (self.usage_chooser, self.chargepoint_chooser):
            widget.set_running(running)
        self.archive_widget.setEnabled(not running)
        self.period_combo.setEnabled(not running)

    def problem(self):
        if not self.usage_chooser.source():
            return tr("Choose the usage to import: a dataset or a file.")
        if self.chargepoint_chooser.kind() != NO_SOURCE and not self.chargepoint_chooser.source():
            return tr("Choose the charge points' dataset or file, or None.")
        if not self.archive_path():
            return tr("Choose the history archive: an existing GeoPackage or a new file name.")
        if not Path(self.archive_path()).parent.is_dir():
            return tr("The folder {folder} does not exist.").format(folder=Path(self.archive_path()).parent)
        return ""

    def description(self):
        return tr("Import usage: {source}").format(source=self.usage_chooser.source())

    def parameters(self) -> dict:
        return {
            "INPUT": self.usage_chooser.source(),
            "CHARGEPOINTS": self.chargepoint_chooser.source(),
            "ARCHIVE": self.archive_path(),
            "PERIOD": self.period_combo.currentData(),
            "REPORT": "TEMPORARY_OUTPUT",
        }

    def success_message(self, results):
        return results["SUMMARY"]
