"""initGui/unload: everything the plugin adds to QGIS, and nothing left behind."""
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator, QUrl
from qgis.PyQt.QtGui import QDesktopServices, QIcon
from qgis.PyQt.QtWidgets import QAction, QMenu, QPushButton
from qgis.core import Qgis, QgsApplication, QgsProject, QgsSettings

from .core import i18n
from .toolbelt.i18n import tr
from .toolbelt.log import log
from .toolbelt.metadata import MENU_TITLE, PLUGIN_ROOT, icon_path, plugin_name

HELP_URL = (PLUGIN_ROOT / "README.md").as_uri()


class EvChargePlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.menu = None
        self.toolbar = None
        self.actions = []
        self.options_factory = None
        self.load_dialog = None
        self.import_dialog = None
        self.style_dialog = None
        self.report_dialog = None
        self.dock = None
        self.nearest_action = None
        self.draw_action = None
        self.candidate_tool = None
        self.live_status = None
        self.map_follower = None
        self.translator = None
        self._install_translator()

    # -- translations -----------------------------------------------------------
    def _install_translator(self):
        locale = QgsSettings().value("locale/userLocale", QLocale().name())[:2]
        qm = PLUGIN_ROOT / "i18n" / f"ev_charge_points_{locale}.qm"
        if qm.exists():
            self.translator = QTranslator()
            self.translator.load(str(qm))
            QCoreApplication.installTranslator(self.translator)
        i18n.install_translator(QCoreApplication.translate)

    # -- QGIS hooks -------------------------------------------------------------
    def initProcessing(self):
        from .processing.provider import EvChargeProvider

        self.provider = EvChargeProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        from .gui.options_page import OptionsFactory

        self.initProcessing()
        self.menu = QMenu(tr("&EV Charge Points"), self.iface.mainWindow())
        self.menu.setObjectName("EvChargePointsMenu")
        menubar = self.iface.mainWindow().menuBar()
        menubar.insertMenu(self.iface.firstRightStandardMenu().menuAction(), self.menu)
        self.toolbar = self.iface.addToolBar(MENU_TITLE)
        self.toolbar.setObjectName("EvChargePointsToolbar")

        self._add_action("load.svg", tr("Load charge points..."), self.show_load_dialog, tr("Load charge points from the London Datastore, a file or the demo data"), toolbar=True)
        self._add_action("import_usage.svg", tr("Import usage..."), self.show_import_dialog, tr("Add a usage return, session file or OCPI CDRs to the history archive"), toolbar=True)
        self._add_action("style_utilisation.svg", tr("Style by utilisation..."), self.show_style_dialog, tr("Style charge points by a utilisation metric for a period"), toolbar=True)
        self._add_action("panel.svg", tr("Show panel"), self.show_panel, tr("The EV Charge Points panel beside the map"))
        self.menu.addSeparator()
        self.draw_action = self._add_action("draw_sites.svg", tr("Draw candidate sites"), self.draw_candidates,
                                            tr("Click the map to add candidate sites (Shift+click removes one, Ctrl+Z undoes, Esc ends)"), toolbar=True)
        self.draw_action.setCheckable(True)
        self._add_action("score_sites.svg", tr("Score candidates..."), self.score_candidates,
                         tr("Rank candidate sites by the demand they reach, the demand already served and nearby pressure"))
        self._add_action("choose_sites.svg", tr("Choose best sites..."), self.choose_sites,
                         tr("Pick the sites (k of them, or within a budget) that together cover the most unserved demand"))
        self.menu.addSeparator()
        self._add_action("committee_report.svg", tr("Committee report..."), self.show_report_dialog,
                         tr("Print a borough's page, or an atlas of every borough, with map, key figures and charts, to PDF"), toolbar=True)
        self.menu.addSeparator()
        self.nearest_action = self._add_action("nearest.svg", tr("Nearest charge points"), self.pick_nearest,
                                               tr("Click a place on the map to list its nearest charge points"), toolbar=True)
        self.nearest_action.setCheckable(True)
        self._add_action("refresh_status.svg", tr("Refresh live status"), self.refresh_live_status,
                         tr("Fetch every charge point's status from the operators' OCPI feeds set in Settings"))
        self.menu.addSeparator()
        self._add_action("settings.svg", tr("Settings..."), self.show_settings, tr("Datastore address, cache, timeout, API key and live-status feeds"))
        self._add_action("help.svg", tr("Help"), self.show_help, tr("How to use {name}").format(name=plugin_name()))

        from .gui.live_status import LiveStatusController

        self.live_status = LiveStatusController(self.iface.mainWindow())
        self.live_status.refreshed.connect(self.on_live_status)
        self.live_status.apply_settings()  # the automatic refresh, if the user asked for one
        self.options_factory = OptionsFactory(on_applied=self.live_status.apply_settings)
        from .gui.style_results import MapFollower

        # The dock's metric and period drive the map's style, so map and charts agree.
        self.map_follower = MapFollower(self.iface.mapCanvas().temporalController(), self.iface.mainWindow())
        self.map_follower.followed.connect(self.on_map_followed)
        self.iface.registerOptionsWidgetFactory(self.options_factory)

    def _add_action(self, icon, text, callback, tip, toolbar=False):
        action = QAction(QIcon(icon_path(icon)), text, self.iface.mainWindow())
        action.setObjectName("EvCharge" + "".join(word.capitalize() for word in text.strip(".").split()))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(callback)
        self.menu.addAction(action)
        if toolbar:
            self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def unload(self):
        if self.candidate_tool is not None:
            if self.iface.mapCanvas().mapTool() is self.candidate_tool:
                self.iface.mapCanvas().unsetMapTool(self.candidate_tool)
            self.candidate_tool.deleteLater()
            self.candidate_tool = None
        if self.map_follower is not None:
            self.map_follower.unload()
            self.map_follower.deleteLater()
            self.map_follower = None
        if self.live_status is not None:
            self.live_status.stop()
            self.live_status.deleteLater()
            self.live_status = None
        if self.dock is not None:
            self.dock.unload()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        for dialog in (self.load_dialog, self.import_dialog, self.style_dialog, self.report_dialog):
            if dialog is not None:
                dialog.cancel()
                dialog.deleteLater()
        self.load_dialog = self.import_dialog = self.style_dialog = self.report_dialog = None
        for action in self.actions:
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.menu is not None:
            self.menu.menuAction().setVisible(False)
            self.iface.mainWindow().menuBar().removeAction(self.menu.menuAction())
            self.menu.deleteLater()
            self.menu = None
        if self.options_factory is not None:
            self.iface.unregisterOptionsWidgetFactory(self.options_factory)
            self.options_factory = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None

    # -- actions ----------------------------------------------------------------
    @staticmethod
    def _show(dialog):
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def show_load_dialog(self):
        from .gui.load_dialog import LoadChargePointsDialog

        if self.load_dialog is None:
            self.load_dialog = LoadChargePointsDialog(self.iface.mainWindow())
            self.load_dialog.finished_run.connect(self.on_loaded)
        self._show(self.load_dialog)

    def show_import_dialog(self):
        from .gui.import_dialog import ImportUsageDialog

        if self.import_dialog is None:
            self.import_dialog = ImportUsageDialog(self.iface.mainWindow())
            self.import_dialog.finished_run.connect(self.on_imported)
        self._show(self.import_dialog)

    def show_style_dialog(self):
        from .gui.import_dialog import project_archive
        from .gui.style_dialog import StyleByUtilisationDialog

        if self.style_dialog is None:
            self.style_dialog = StyleByUtilisationDialog(self.iface.mainWindow())
            self.style_dialog.finished_run.connect(self.on_styled)
        else:
            # The archive may have been chosen or added to since the dialog was last open.
            self.style_dialog.archive_widget.setFilePath(project_archive())
            self.style_dialog.load_periods()
        self._show(self.style_dialog)

    def show_report_dialog(self):
        from .gui.report_dialog import CommitteeReportDialog

        if self.report_dialog is None:
            self.report_dialog = CommitteeReportDialog(self.iface.mainWindow())
            self.report_dialog.finished_run.connect(self.on_reported)
        else:
            # Layers, the archive and the map's period may have changed since it was last open.
            self.report_dialog.refresh()
        self._show(self.report_dialog)

    def on_reported(self, outcome, results, message):
        from .gui.task_dialog import SUCCEEDED

        if outcome != SUCCEEDED:
            return  # the dialog shows why
        layout = QgsProject.instance().layoutManager().layoutByName(results["LAYOUT_NAME"])
        self._push_with_buttons(message, Qgis.Success, (
            (tr("Open PDF"), self.report_dialog.open_pdf),
            (tr("Open layout"), lambda: layout is not None and self.iface.openLayoutDesigner(layout))))

    def _report_failure(self, outcome, message) -> bool:
        """Show a failed run's message; True when the run succeeded."""
        from .gui.task_dialog import FAILED, SUCCEEDED

        if outcome == FAILED:
            self.iface.messageBar().pushMessage(MENU_TITLE, message, Qgis.Critical, 0)
            log(message, Qgis.Critical)
        return outcome == SUCCEEDED

    def on_map_followed(self, outcome, message):
        if self._report_failure(outcome, message):
            self.iface.messageBar().pushMessage(MENU_TITLE, message, Qgis.Info, 5)

    def on_imported(self, outcome, results, context, message):
        from .gui.load_results import add_report_layer, save_report_csv

        if not self._report_failure(outcome, message):
            return
        bar = self.iface.messageBar()
        report = add_report_layer(context.takeResultLayer(results["REPORT"]), tr("Import report: {source}").format(source=results["LABEL"]),
                                  tr("Every rejected or repaired row of the import, with its line, field and reason."))
        self._push_with_buttons(message, Qgis.Warning if results["REJECTED"] else Qgis.Success, (
            (tr("Open report"), lambda: self.iface.showAttributeTable(report)),
            (tr("Save report as CSV..."), lambda: save_report_csv(report, self.iface.mainWindow(), bar)),
            (tr("Style by utilisation..."), self.show_style_dialog)))

    def _push_with_buttons(self, message, level, buttons):
        """A message-bar line that stays until closed, with (text, callback) buttons."""
        bar = self.iface.messageBar()
        widget = bar.createMessage(MENU_TITLE, message)
        for text, callback in buttons:
            button = QPushButton(text, widget)
            button.clicked.connect(callback)
            widget.layout().addWidget(button)
        bar.pushWidget(widget, level, 0)

    def on_styled(self, outcome, results, context, message):
        from .gui.style_results import add_utilisation_layer

        if not self._report_failure(outcome, message):
            return
        start, end, by_period = self.style_dialog.period()
        add_utilisation_layer(results, context, self.style_dialog.renderer_settings(), start, end, by_period,
                              self.iface.mapCanvas().temporalController())
        self.iface.messageBar().pushMessage(MENU_TITLE, message, Qgis.Success, 10)

    def on_loaded(self, outcome, results, context, message):
        from .gui.load_results import add_load_results, save_report_csv

        bar = self.iface.messageBar()
        if not self._report_failure(outcome, message):
            return

        points, report = add_load_results(results, context)
        for warning in filter(None, results.get("WARNINGS", "").split("\n")):
            bar.pushMessage(MENU_TITLE, warning, Qgis.Warning, 15)
        summary = tr("{loaded:,} loaded, {rejected:,} rejected").format(loaded=int(results["LOADED"]), rejected=int(results["REJECTED"]))
        self._push_with_buttons(summary, Qgis.Warning if results["REJECTED"] else Qgis.Success, (
            (tr("Open report"), lambda: self.iface.showAttributeTable(report)),
            (tr("Save report as CSV..."), lambda: save_report_csv(report, self.iface.mainWindow(), bar))))
        if points.featureCount():
            self.iface.mapCanvas().setExtent(points.extent().buffered(500))
            self.iface.mapCanvas().refresh()

    def _panel(self):
        from qgis.PyQt.QtCore import Qt

        from .gui.dock import EvChargeDock

        if self.dock is None:
            self.dock = EvChargeDock(self.iface.mapCanvas(), self.iface.mainWindow())
            self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
            # The toolbar button follows the map tool, whichever way it was switched.
            self.dock.nearest.pick_button.toggled.connect(self.nearest_action.setChecked)
            self.dock.sites.score_button.clicked.connect(self.score_candidates)
            # The panel says how a summary went; a failure also goes to the message bar, with the log.
            self.dock.summary.summarised.connect(self._report_failure)
            self.dock.sites.choose_button.clicked.connect(self.choose_sites)
        return self.dock

    def show_panel(self):
        dock = self._panel()
        dock.show()
        dock.raise_()

    def pick_nearest(self, checked):
        dock = self._panel()
        dock.tabs.setCurrentWidget(dock.nearest)
        if checked:
            dock.show()
            dock.raise_()
        dock.nearest.pick_button.setChecked(checked)

    def draw_candidates(self, checked):
        """Switch the candidate-drawing map tool on (making a candidate layer if the project has none) or off."""
        from .gui.candidate_tool import CandidateTool, candidate_layers, is_candidate_layer, new_candidate_layer
        from .qgis_io.project import add_to_plugin_group

        canvas = self.iface.mapCanvas()
        if not checked:
            if canvas.mapTool() is self.candidate_tool:
                self.iface.actionPan().trigger()
            return
        layer = next((layer for layer in candidate_layers() if is_candidate_layer(layer)), None) or add_to_plugin_group(new_candidate_layer())
        # QGIS's Undo acts on the active layer: make it the one being drawn on.
        self.iface.setActiveLayer(layer)
        if self.candidate_tool is None:
            self.candidate_tool = CandidateTool(canvas)
            self.candidate_tool.setAction(self.draw_action)
            self.candidate_tool.finished.connect(self.iface.actionPan().trigger)
            self.candidate_tool.message.connect(lambda text: self.iface.mainWindow().statusBar().showMessage(text, 10000))
        canvas.setMapTool(self.candidate_tool)

    def _siting_dialog(self, algorithm):
        from .gui.candidate_tool import candidate_layers, is_candidate_layer

        dock = self._panel()
        # Only a layer marked as candidates is offered: another point layer (the charge points) is no default.
        candidates = next((layer for layer in candidate_layers() if is_candidate_layer(layer)), None)
        defaults = dock.sites.dialog_defaults(algorithm, candidates, dock.summary.points_combo.currentLayer(),
                                              dock.summary.wards_combo.currentLayer())
        dock.tabs.setCurrentWidget(dock.sites)
        dock.show()
        return dock.sites.open_dialog(algorithm, defaults)

    def score_candidates(self):
        from .gui.sites_panel import SCORE_ALGORITHM

        self._siting_dialog(SCORE_ALGORITHM)

    def choose_sites(self):
        from .gui.sites_panel import SELECT_ALGORITHM

        self._siting_dialog(SELECT_ALGORITHM)

    def refresh_live_status(self):
        if not self.live_status.refresh() and self.live_status.running():
            self.iface.messageBar().pushMessage(MENU_TITLE, tr("A refresh is already under way."), Qgis.Info, 5)

    def on_live_status(self, outcome, message):
        from .gui.task_dialog import CANCELLED, SUCCEEDED

        if outcome != CANCELLED:
            self.iface.messageBar().pushMessage(MENU_TITLE, message, Qgis.Success if outcome == SUCCEEDED else Qgis.Warning, 10)

    def show_settings(self):
        self.iface.showOptionsDialog(self.iface.mainWindow(), currentPage="EvChargeOptionsPage")

    def show_help(self):
        QDesktopServices.openUrl(QUrl(HELP_URL))

