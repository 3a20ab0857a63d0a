"""Translation for the QGIS side: one context, so .ts files stay easy to translate."""
from qgis.PyQt.QtCore import QCoreApplication

CONTEXT = "EvCharge"


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)
