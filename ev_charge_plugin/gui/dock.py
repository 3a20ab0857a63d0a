"""The EV Charge Points dock panel beside the map; each task of the plugin that answers on screen has a tab."""
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtWidgets import QTabWidget

from ..toolbelt.i18n import tr
from .nearest_panel import NearestPanel
from .reliability_panel import ReliabilityPanel

DOCK_NAME = "EvChargePointsDock"


class EvChargeDock(QgsDockWidget):
    def __init__(self, canvas, parent=None):
        super().__init__(tr("EV Charge Points"), parent)
        self.setObjectName(DOCK_NAME)
        self.tabs = QTabWidget()
        self.nearest = NearestPanel(canvas)
        self.tabs.addTab(self.nearest, tr("Nearest"))
        self.reliability = ReliabilityPanel()
        self.tabs.addTab(self.reliability, tr("Reliability"))
        self.setWidget(self.tabs)

    def unload(self):
        self.nearest.unload()
        self.reliability.unload()
