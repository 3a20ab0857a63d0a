"""The EV Charge Points dock panel beside the map: a shared header (layers, period, metric) over one tab per question."""
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ..toolbelt.i18n import tr
from .nearest_panel import NearestPanel
from .reliability_panel import ReliabilityPanel
from .sites_panel import SitesPanel
from .summary_panel import SummaryPanel

DOCK_NAME = "EvChargePointsDock"


class EvChargeDock(QgsDockWidget):
    def __init__(self, canvas, parent=None):
        super().__init__(tr("EV Charge Points"), parent)
        self.setObjectName(DOCK_NAME)
        self.summary = SummaryPanel(canvas, self)
        self.tabs = QTabWidget()
        self.summary.tab_widget = self.tabs
        for widget, title in self.summary.tabs:
            self.tabs.addTab(widget, title)
        self.sites = SitesPanel(canvas)
        self.tabs.addTab(self.sites, tr("Sites"))
        self.nearest = NearestPanel(canvas)
        self.tabs.addTab(self.nearest, tr("Nearest"))
        self.reliability = ReliabilityPanel()
        self.tabs.addTab(self.reliability, tr("Reliability"))
        self.tabs.currentChanged.connect(self._tab_changed)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary.header)
        layout.addWidget(self.tabs, 1)
        self.setWidget(body)
        # The panel is made when first shown, usually after the project was opened: take its saved settings now.
        self.summary.restore()

    def _tab_changed(self, index):
        # The header's layers, period and metric are the charts'; the other tabs have their own inputs.
        self.summary.header.setVisible(index < len(self.summary.tabs))
        self.summary.save_settings()

    def unload(self):
        self.summary.unload()
        self.sites.unload()
        self.nearest.unload()
        self.reliability.unload()
