"""One logging front end: the QGIS log panel, and the message bar when there is one."""
from qgis.core import Qgis, QgsMessageLog

from .metadata import MENU_TITLE


def log(message: str, level=Qgis.Info) -> None:
    QgsMessageLog.logMessage(message, MENU_TITLE, level)


def tr(text: str, context: str = "EvCharge") -> str:
    from qgis.PyQt.QtCore import QCoreApplication

    return QCoreApplication.translate(context, text)
