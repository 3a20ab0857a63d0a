"""Where the plugin's layers go: one layer-tree group in the project, and GeoPackages on disk."""
import re
from datetime import datetime
from pathlib import Path

from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.core import QgsApplication, QgsProject, QgsVectorLayer

GROUP_NAME = "EV Charge Points"
# A layer's legend title (metric and period), set on its layer-tree node for print layouts' legends.
LEGEND_TITLE = "evcharge/legend_title"
# The project entries holding the metric and period the map is styled by; the dock and layouts read them too.
SCOPE = "EvChargePoints"
# Marks the layer a utilisation run added, with its period as "start/end" (ISO dates).
UTILISATION_PERIOD = "evcharge/utilisation_period"
# The folder beside a saved project that holds the layers the plugin makes for it.
LAYER_FOLDER_NAME = "ev_charge_layers"


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


def layer_folder(project=None) -> Path:
    """Where the plugin keeps the layers it makes: the folder chosen in its settings, else
    ``ev_charge_layers`` beside the project file, else (a project not saved yet) in the QGIS profile."""
    from ..toolbelt.settings import PluginSettings

    chosen = PluginSettings.load().layer_folder.strip()
    if chosen:
        return Path(chosen)
    project = project or QgsProject.instance()
    if project.homePath():
        return Path(project.homePath()) / LAYER_FOLDER_NAME
    return Path(QgsApplication.qgisSettingsDirPath()) / "ev_charge_points" / "layers"


def new_layer_file(name: str, project=None) -> str:
    """A GeoPackage path, not yet taken, for a layer the plugin makes (its folder is created).

    Loaded and computed layers are files, not QGIS's temporary memory layers,
    so they are still there when the project is reopened; they are also read
    several times faster by the analyses.
    """
    folder = layer_folder(project)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "layer"
    stem = f"{stem}_{datetime.now():%Y%m%d_%H%M%S}"
    path, number = folder / f"{stem}.gpkg", 1
    while path.exists() or str(path) in _handed_out:
        number += 1
        path = folder / f"{stem}_{number}.gpkg"
    _handed_out.add(str(path))
    return str(path)


_handed_out = set()  # paths new_layer_file gave, which discard_layer_file may remove


def discard_layer_file(path) -> bool:
    """Remove the file of a run that failed or was cancelled, if :func:`new_layer_file` gave its path
    (any other path is left alone), so that nothing is left behind. True if it removed one."""
    if not isinstance(path, str) or path not in _handed_out:
        return False
    _handed_out.discard(path)
    removed = False
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        if Path(name).exists():
            Path(name).unlink()
            removed = True
    return removed


def result_layer(context, value: str):
    """The layer a Processing run wrote to ``value``: held by the run's context for a temporary
    output, opened from its file otherwise (None if it cannot be opened)."""
    layer = context.takeResultLayer(value)
    if layer is None:
        layer = QgsVectorLayer(value, Path(value.split("|")[0]).stem, "ogr")
    return layer if layer.isValid() else None
