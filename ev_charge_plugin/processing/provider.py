"""Processing provider ``evcharge``."""
from qgis.PyQt.QtGui import QIcon
from qgis.core import QgsProcessingProvider

from ..toolbelt.metadata import icon_path, plugin_version
from .area_summary import AreaSummaryAlgorithm
from .committee_report import CommitteeReportAlgorithm
from .demo_data import DemoDataAlgorithm
from .import_dft_stats import ImportDftStatsAlgorithm
from .import_usage import ImportUsageAlgorithm
from .load_chargepoints import LoadChargePointsAlgorithm
from .nearest import NearestAlgorithm
from .refresh_status import RefreshStatusAlgorithm
from .reliability_summary import ReliabilitySummaryAlgorithm
from .siting import ScoreCandidatesAlgorithm, SelectSitesAlgorithm
from .utilisation import UtilisationAlgorithm

PROVIDER_ID = "evcharge"


class EvChargeProvider(QgsProcessingProvider):
    def id(self):
        return PROVIDER_ID

    def name(self):
        return "EV Charge Points"

    def longName(self):
        return f"London EV Charge Points {plugin_version()}"

    def icon(self):
        return QIcon(icon_path("plugin.svg"))

    def versionInfo(self):
        return plugin_version()

    def load(self):
        # Loaded in the main thread: from now on it takes up the HTTP requests of algorithms running as tasks.
        from ..qgis_io.main_thread import serve_tasks

        serve_tasks()
        return super().load()

    def unload(self):
        from ..qgis_io.main_thread import stop_serving_tasks

        stop_serving_tasks()
        super().unload()

    def loadAlgorithms(self):
        for algorithm in (LoadChargePointsAlgorithm(), ImportUsageAlgorithm(), UtilisationAlgorithm(), NearestAlgorithm(), RefreshStatusAlgorithm(), ReliabilitySummaryAlgorithm(),
                          AreaSummaryAlgorithm(), DemoDataAlgorithm(), ImportDftStatsAlgorithm(), ScoreCandidatesAlgorithm(), SelectSitesAlgorithm(),
                          CommitteeReportAlgorithm()):
            self.addAlgorithm(algorithm)
