"""One logging front end: the plugin's tab in the QGIS log panel."""
from qgis.core import Qgis, QgsMessageLog

from .metadata import MENU_TITLE


def log(message: str, level=Qgis.Info) -> None:
    QgsMessageLog.logMessage(message, MENU_TITLE, level)
