"""The plugin's page in Settings > Options."""
import os

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)
from qgis.gui import QgsAuthConfigSelect, QgsFileWidget, QgsOptionsPageWidget, QgsOptionsWidgetFactory

from ..qgis_io.project import LAYER_FOLDER_NAME
from ..toolbelt.i18n import tr
from ..toolbelt.metadata import MENU_TITLE, icon_path
from ..toolbelt.settings import ENV_CACHE_DIR, ENV_DATASTORE_URL, Feed, PluginSettings, default_cache_dir

ADDRESS, AUTHENTICATION = 0, 1  # the feed table's columns


class OptionsPage(QgsOptionsPageWidget):
    # Emitted once the settings are saved, so the live status timer can follow the new interval.
    applied = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("EvChargeOptionsPage")
        settings = PluginSettings.load()

        self.url_edit = QLineEdit(settings.datastore_url)
        self.url_edit.setToolTip(tr("The London Datastore's address. Only https:// is accepted (http:// only for this computer, for testing)."))
        self.cache_widget = QgsFileWidget()
        self.cache_widget.setStorageMode(QgsFileWidget.GetDirectory)
        self.cache_widget.setFilePath(settings.cache_dir)
        self.cache_widget.lineEdit().setPlaceholderText(default_cache_dir())
        self.layer_folder_widget = QgsFileWidget()
        self.layer_folder_widget.setStorageMode(QgsFileWidget.GetDirectory)
        self.layer_folder_widget.setFilePath(settings.layer_folder)
        self.layer_folder_widget.lineEdit().setPlaceholderText(tr("beside the project file, in {folder}").format(folder=LAYER_FOLDER_NAME))
        self.layer_folder_widget.setToolTip(tr(
            "Loaded charge points and utilisation layers are saved here as GeoPackages, so they are "
            "still there when the project is reopened. Empty: a folder {folder} beside the project "
            "file (in the QGIS profile while the project is not saved yet).").format(folder=LAYER_FOLDER_NAME))
        self.timeout_spin = QSpinBox()
        self.timeout_spin.setRange(5, 600)
        self.timeout_spin.setSuffix(tr(" s"))
        self.timeout_spin.setValue(settings.timeout_seconds)
        self.auth_select = QgsAuthConfigSelect(self)
        self.auth_select.setConfigId(settings.authcfg)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.Password)
        self.key_edit.setPlaceholderText(tr("paste a new key to store it"))
        self.key_edit.setToolTip(tr("Stored in QGIS's encrypted authentication database, never in plain settings."))
        self.message = QLabel()
        self.message.setWordWrap(True)
        feeds_group = self._build_feeds_group(settings)

        form = QFormLayout()
        form.addRow(tr("Datastore address"), self.url_edit)
        form.addRow(tr("Download cache folder"), self.cache_widget)
        form.addRow(tr("Folder for the plugin's layers"), self.layer_folder_widget)
        form.addRow(tr("Network timeout"), self.timeout_spin)
        form.addRow(tr("New API key"), self.key_edit)
        form.addRow(tr("Key in use (authentication)"), self.auth_select)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(tr(
            "Private Datastore datasets need an API key. A key pasted here is saved in QGIS's "
            "encrypted authentication database (QGIS may ask for its master password) and "
            "only its configuration id is kept in the settings.")))
        layout.addWidget(feeds_group)
        overrides = [name for name in (ENV_DATASTORE_URL, ENV_CACHE_DIR) if os.environ.get(name)]
        self.note = tr("Overridden for this session by the environment: {names}.").format(names=", ".join(overrides)) if overrides else ""
        self.message.setText(self.note)
        layout.addWidget(self.message)
        layout.addStretch(1)

    def _build_feeds_group(self, settings: PluginSettings) -> QGroupBox:
        self.feed_table = QTableWidget(0, 2)
        self.feed_table.setObjectName("feedTable")
        self.feed_table.setHorizontalHeaderLabels([tr("Address"), tr("Authentication")])
        self.feed_table.horizontalHeader().setSectionResizeMode(ADDRESS, QHeaderView.Stretch)
        self.feed_table.horizontalHeader().setSectionResizeMode(AUTHENTICATION, QHeaderView.ResizeToContents)
        self.feed_table.verticalHeader().setVisible(False)
        self.feed_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        for feed in settings.feed_list():
            self.add_feed(feed.url, feed.authcfg)
        self.add_button = QPushButton(tr("&Add"))
        self.add_button.clicked.connect(lambda: self.feed_table.editItem(self.feed_table.item(self.add_feed(), ADDRESS)))
        self.remove_button = QPushButton(tr("&Remove"))
        self.remove_button.clicked.connect(self.remove_selected_feeds)
        self.refresh_spin = QSpinBox()
        self.refresh_spin.setRange(0, 24 * 60)
        self.refresh_spin.setSuffix(tr(" min"))
        self.refresh_spin.setValue(settings.refresh_minutes)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        form = QFormLayout()
        form.addRow(tr("Refresh automatically every N minutes (0 = only on demand)"), self.refresh_spin)
        group = QGroupBox(tr("Live status feeds"))
        layout = QVBoxLayout(group)
        layout.addWidget(QLabel(tr(
            "Operators' open OCPI Locations feeds, one address per row. A feed that needs a token gets it "
            "from a QGIS authentication configuration, sent only to the feed's own server.")))
        layout.addWidget(self.feed_table)
        layout.addLayout(buttons)
        layout.addLayout(form)
        return group

    def add_feed(self, url: str = "", authcfg: str = "") -> int:
        """Add a row to the feed table; returns its number."""
        row = self.feed_table.rowCount()
        self.feed_table.insertRow(row)
        self.feed_table.setItem(row, ADDRESS, QTableWidgetItem(url))
        auth_select = QgsAuthConfigSelect()
        auth_select.setConfigId(authcfg)
        self.feed_table.setCellWidget(row, AUTHENTICATION, auth_select)
        self.feed_table.resizeRowToContents(row)
        return row

    def remove_selected_feeds(self) -> None:
        rows = {index.row() for index in self.feed_table.selectionModel().selectedRows()} or {self.feed_table.currentRow()}
        for row in sorted(rows - {-1}, reverse=True):
            self.feed_table.removeRow(row)

    def feed_rows(self) -> list:
        """What the table holds, row by row, as typed: [(address, auth config id)]."""
        return [(self.feed_table.item(row, ADDRESS).text() if self.feed_table.item(row, ADDRESS) else "",
                 self.feed_table.cellWidget(row, AUTHENTICATION).configId()) for row in range(self.feed_table.rowCount())]

    def checked_feeds(self):
        """The feeds to save (empty rows and repeats dropped) and why any address was refused."""
        from ..core.datastore import check_base_url
        from ..core.errors import InsecureUrlError

        feeds, refused = {}, []
        for url, authcfg in self.feed_rows():
            url = url.strip()
            if not url or url in feeds:
                continue
            try:
                check_base_url(url)
            except InsecureUrlError as error:
                refused.append(str(error))
                continue
            feeds[url] = Feed(url, authcfg)
        return list(feeds.values()), refused

    def apply(self):
        from ..core.datastore import check_base_url
        from ..core.errors import InsecureUrlError

        url = self.url_edit.text().strip().rstrip("/")
        try:
            check_base_url(url)
        except InsecureUrlError as error:
            self.message.setText(str(error))
            return
        authcfg = self.auth_select.configId()
        if self.key_edit.text().strip():
            from ..qgis_io.auth import store_api_key

            try:
                authcfg = store_api_key(self.key_edit.text(), authcfg)
            except PermissionError as error:
                self.message.setText(tr(str(error)))
                return
            self.key_edit.clear()
            self.auth_select.setConfigId(authcfg)
        feeds, refused = self.checked_feeds()
        settings = PluginSettings(
            datastore_url=url,
            cache_dir=self.cache_widget.filePath().strip(),
            layer_folder=self.layer_folder_widget.filePath().strip(),
            timeout_seconds=self.timeout_spin.value(),
            authcfg=authcfg,
            refresh_minutes=self.refresh_spin.value(),
        )
        settings.set_feed_list(feeds)
        settings.save()
        # A refused feed stays in the table to be corrected, but is not saved: the refresh would only refuse it again.
        self.message.setText(tr("Not saved: {reasons}").format(reasons=" ".join(refused)) if refused else self.note)
        self.applied.emit()


class OptionsFactory(QgsOptionsWidgetFactory):
    """``on_applied`` is called after each page saves its settings (the plugin restarts its refresh timer)."""

    def __init__(self, on_applied=None):
        super().__init__()
        self.setTitle(MENU_TITLE)
        self.on_applied = on_applied

    def icon(self):
        return QIcon(icon_path("plugin.svg"))

    def createWidget(self, parent):
        page = OptionsPage(parent)
        if self.on_applied is not None:
            page.applied.connect(self.on_applied)
        return page
