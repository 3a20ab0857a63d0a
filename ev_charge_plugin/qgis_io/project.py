"""Where the plugin's layers go in the project: one layer-tree group, named for users."""
from qgis.core import QgsProject

GROUP_NAME = "EV Charge Points"
# A layer's legend title (metric and period), set on its layer-tree node for print layouts' legends.
LEGEND_TITLE = "evcharge/legend_title"


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
