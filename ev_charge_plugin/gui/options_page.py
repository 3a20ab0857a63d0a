"""The plugin's page in Settings > Options."""
import os

from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout
from qgis.gui import QgsAuthConfigSelect, QgsFileWidget, QgsOptionsPageWidget, QgsOptionsWidgetFactory

from ..toolbelt.i18n import tr
from ..toolbelt.metadata import MENU_TITLE, icon_path
from ..toolbelt.settings import ENV_CACHE_DIR, ENV_DATASTORE_URL, PluginSettings, default_cache_dir


class OptionsPage(QgsOptionsPageWidget):
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

        form = QFormLayout()
        form.addRow(tr("Datastore address"), self.url_edit)
        form.addRow(tr("Download cache folder"), self.cache_widget)
        form.addRow(tr("Network timeout"), self.timeout_spin)
        form.addRow(tr("New API key"), self.key_edit)
        form.addRow(tr("Key in use (authentication)"), self.auth_select)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(tr(
            "Private Datastore datasets need an API key. A key pasted here is saved in QGIS's "
            "encrypted authentication database (QGIS may ask for its master password) and "
            "only its configuration id is kept in the settings.")))
        overrides = [name for name in (ENV_DATASTORE_URL, ENV_CACHE_DIR) if os.environ.get(name)]
        if overrides:
            self.message.setText(tr("Overridden for this session by the environment: {names}.").format(names=", ".join(overrides)))
        layout.addWidget(self.message)
        layout.addStretch(1)

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
        PluginSettings(
            datastore_url=url,
            cache_dir=self.cache_widget.filePath().strip(),
            timeout_seconds=self.timeout_spin.value(),
            authcfg=authcfg,
        ).save()


class OptionsFactory(QgsOptionsWidgetFactory):
    def __init__(self):
        super().__init__()
        self.setTitle(MENU_TITLE)

    def icon(self):
        return QIcon(icon_path("plugin.svg"))

    def createWidget(self, parent):
        return OptionsPage(parent)
