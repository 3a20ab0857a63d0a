"""Where the plugin's layers go in the project: one layer-tree group, named for users."""
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.core import QgsProject

GROUP_NAME = "EV Charge Points"
# A layer's legend title (metric and period), set on its layer-tree node for print layouts' legends.
LEGEND_TITLE = "evcharge/legend_title"
# The project entries holding the metric and period the map is styled by; the dock and layouts read them too.
SCOPE = "EvChargePoints"
# Marks the layer a utilisation run added, with its period as "start/end" (ISO dates).
UTILISATION_PERIOD = "evcharge/utilisation_period"


class _SharedChoice(QObject):
    # metric, period start, period end (ISO dates, "" for none)
    changed = pyqtSignal(str, str, str)


_notifier = None


def shared_choice_changed():
    """The signal every view of the shared metric and period listens to."""
    global _notifier
    if _notifier is None:
        _notifier = _SharedChoice()
    return _notifier.changed


def shared_choice(project=None) -> tuple:
    """(metric, start, end) as the project holds them; empty strings when nothing was chosen yet."""
    project = project or QgsProject.instance()
    return tuple(project.readEntry(SCOPE, key, "")[0] for key in ("metric", "period_start", "period_end"))


def set_shared_choice(metric: str, start, end, project=None) -> None:
    """Record the metric and period in the project, and tell the map, the dock and the layouts."""
    project = project or QgsProject.instance()
    values = (metric, "" if start is None else str(start)[:10], "" if end is None else str(end)[:10])
    if values == shared_choice(project):
        return
    for key, value in zip(("metric", "period_start", "period_end"), values):
        project.writeEntry(SCOPE, key, value)
    shared_choice_changed().emit(*values)


def plugin_group(project=None):
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    return root.findGroup(GROUP_NAME) or root.insertGroup(0, GROUP_NAME)


def add_to_plugin_group(layer, project=None, visible=True):
    project = project or QgsProject.instance()
    project.addMapLayer(layer, False)
    node = plugin_group(project).insertLayer(0, layer)
    node.setItemVisibilityChecked(visible)
    if layer.customProperty(LEGEND_TITLE):
        node.setCustomProperty("legend/title-label", layer.customProperty(LEGEND_TITLE))
    return layer
