"""Draw candidate sites: a map tool that adds (and removes) candidate points on a layer, through its edit buffer.

Every change goes through the layer's edit buffer, one edit command each, so the
layer's undo stack (Ctrl+Z, Edit > Undo, the Undo/Redo panel) takes it back, and
nothing reaches the data source until the user saves the layer edits. A new
candidate layer is a memory layer: the user keeps it with QGIS's own
*Make Permanent...* (a GeoPackage, say), as for any scratch layer.

Scoring and choosing sites read any point or polygon layer (``candidate_layers``);
polygons stand at their point on surface (see ``core.siting``). The tool adds
points only; polygon candidates are drawn with QGIS's own Add Polygon tool, and
Shift+click removes them here too.
"""
import re
from dataclasses import dataclass
from typing import Callable, Optional

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsDefaultValue,
    QgsFeatureRequest,
    QgsField,
    QgsGeometry,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsPointLocator,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsSettings,
    QgsSingleSymbolRenderer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorDataProvider,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
    QgsVectorLayerUtils,
    QgsWkbTypes,
)
from qgis.gui import QgsMapTool, QgsSnapIndicator
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP, QVariant, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor

from ..toolbelt.i18n import tr
from ..toolbelt.metadata import SETTINGS_GROUP

# Custom layer property that marks a layer as the plugin's candidate sites (kept in the project file).
CANDIDATE_PROPERTY = "evcharge/candidates"
DEFAULT_LAYER_NAME = QT_TRANSLATE_NOOP("EvCharge", "Candidate sites")
DEFAULTS_SETTINGS = f"{SETTINGS_GROUP}/candidates"
# A click this close (in screen pixels) to a candidate removes it with Shift+click.
DELETE_TOLERANCE_PX = 8
HINT = QT_TRANSLATE_NOOP("EvCharge", "Click to add a candidate site; Shift+click removes one; Ctrl+Z undoes, "
                         "Ctrl+Shift+Z redoes; right-click or Esc ends. Save the layer edits to keep them; a new "
                         "candidate layer is a scratch layer: keep it with Layer > Make Permanent.")
COLOUR = "#d4008f"  # magenta: apart from the speed-band and utilisation colours of charge point layers


@dataclass(frozen=True)
class CandidateField:
    name: str
    type: QVariant.Type
    alias: str
    # What a new site gets unless the layer or the user's settings say otherwise; None for no default.
    default: object = None


# The default cost is a planning figure, not a quote: about 7,500 pounds for one on-street 7 kW post with
# two sockets, installed (the post, groundworks and a connection to the street supply), a mid value of
# the range London boroughs report for residential on-street posts. Costs vary a lot with the site (the
# distance to a supply above all); set your own per site, or for new sites in the settings key
# "ev_charge_points/candidates/cost" (likewise "connectors" and "power_kw").
CANDIDATE_FIELDS = (
    CandidateField("name", QVariant.String, QT_TRANSLATE_NOOP("EvCharge", "Name")),
    CandidateField("connectors", QVariant.Int, QT_TRANSLATE_NOOP("EvCharge", "Proposed connectors"), 2),
    CandidateField("power_kw", QVariant.Double, QT_TRANSLATE_NOOP("EvCharge", "Power per connector (kW)"), 7.0),
    CandidateField("cost", QVariant.Double, QT_TRANSLATE_NOOP("EvCharge", "Estimated cost (GBP)"), 7500.0),
    CandidateField("notes", QVariant.String, QT_TRANSLATE_NOOP("EvCharge", "Notes")),
)


def candidate_defaults() -> dict:
    """The values a new site gets, by field name: ``CANDIDATE_FIELDS`` defaults, overridden by the user's settings."""
    stored = QgsSettings()
    values = {}
    for spec in CANDIDATE_FIELDS:
        if spec.default is None:
            continue
        value = stored.value(f"{DEFAULTS_SETTINGS}/{spec.name}", spec.default)
        try:
            values[spec.name] = type(spec.default)(value)
        except (TypeError, ValueError):  # a setting edited by hand into something else: keep the built-in default
            values[spec.name] = spec.default
    return values


def candidate_fields() -> list:
    return [QgsField(spec.name, spec.type) for spec in CANDIDATE_FIELDS]


def is_candidate_layer(layer) -> bool:
    """Marked as candidate sites by the plugin (the property reads back as text from a saved project)."""
    if not isinstance(layer, QgsVectorLayer):
        return False
    return str(layer.customProperty(CANDIDATE_PROPERTY, False)).lower() in ("true", "1")


def style_candidate_layer(layer: QgsVectorLayer) -> None:
    """A magenta star with the site's name beside it: apart from every charge point style."""
    symbol = QgsMarkerSymbol.createSimple({"name": "star", "color": COLOUR, "outline_color": "#ffffff",
                                           "outline_width": "0.3", "size": "5"})
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    if layer.fields().indexOf("name") >= 0:
        text = QgsTextFormat()
        text.setColor(QColor(COLOUR).darker(130))
        text.setSize(9)
        buffer = QgsTextBufferSettings()
        buffer.setEnabled(True)
        buffer.setColor(QColor("white"))
        text.setBuffer(buffer)
        labels = QgsPalLayerSettings()
        labels.fieldName = "name"
        labels.setFormat(text)
        labels.dist = 1.5
        layer.setLabeling(QgsVectorLayerSimpleLabeling(labels))
        layer.setLabelsEnabled(True)


def new_candidate_layer(crs: Optional[QgsCoordinateReferenceSystem] = None, name: str = None) -> QgsVectorLayer:
    """An empty, styled memory point layer of candidate sites (British National Grid unless told), marked for the plugin."""
    crs = crs if crs is not None and crs.isValid() else QgsCoordinateReferenceSystem("EPSG:27700")
    layer = QgsVectorLayer(f"Point?crs={crs.authid() or 'EPSG:27700'}", name or tr(DEFAULT_LAYER_NAME), "memory")
    if not crs.authid():  # a custom CRS has no authority id to put in the URI
        layer.setCrs(crs)
    layer.dataProvider().addAttributes(candidate_fields())
    layer.updateFields()
    defaults = candidate_defaults()
    for spec in CANDIDATE_FIELDS:
        index = layer.fields().indexOf(spec.name)
        layer.setFieldAlias(index, tr(spec.alias))
        if spec.name in defaults:
            # Also what QGIS's own Add Point tool and the attribute table fill in.
            layer.setDefaultValueDefinition(index, QgsDefaultValue(repr(defaults[spec.name])))
    layer.setCustomProperty(CANDIDATE_PROPERTY, True)
    style_candidate_layer(layer)
    return layer


def candidate_layers(project: Optional[QgsProject] = None) -> list:
    """Point and polygon layers usable as candidate sites: the plugin's candidate layers first, then the rest, in layer-tree order."""
    project = project or QgsProject.instance()
    ordered = [node.layer() for node in project.layerTreeRoot().findLayers()]
    ordered += [layer for layer in project.mapLayers().values() if layer not in ordered]
    usable = [layer for layer in ordered if isinstance(layer, QgsVectorLayer) and layer.isValid()
              and layer.geometryType() in (QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry)]
    return [layer for layer in usable if is_candidate_layer(layer)] + [layer for layer in usable if not is_candidate_layer(layer)]


def next_site_name(layer: QgsVectorLayer) -> str:
    """"Site n" for the number after the highest "Site n" in the layer (edit buffer included)."""
    prefix = tr("Site")
    index = layer.fields().indexOf("name")
    names = layer.uniqueValues(index) if index >= 0 else set()
    pattern = re.compile(rf"^\s*{re.escape(prefix)}\s+(\d+)\s*$", re.IGNORECASE)
    numbers = [int(match.group(1)) for match in (pattern.match(str(name)) for name in names if name) if match]
    return f"{prefix} {max(numbers, default=0) + 1}"


class CandidateTool(QgsMapTool):
    """Click to add a candidate site to the current candidate layer, Shift+click to remove the nearest one.

    ``layer_getter`` returns the layer to draw on (None when there is none); by default
    the project's first candidate layer. Each addition or removal is one command on the layer's undo stack.
    ``added`` and ``removed`` carry the feature id (a temporary, negative id until the
    edits are saved); ``message`` carries text for the status bar or the dock; ``finished``
    says the user ended drawing (right-click or Esc). Another map tool chosen simply
    deactivates this one: emitting ``finished`` there too would have a caller that
    switches to Pan deactivate it again, endlessly.
    """

    added = pyqtSignal("qint64")
    removed = pyqtSignal("qint64")
    message = pyqtSignal(str)
    finished = pyqtSignal()

    def __init__(self, canvas, layer_getter: Optional[Callable[[], Optional[QgsVectorLayer]]] = None):
        super().__init__(canvas)
        self.layer_getter = layer_getter or self._first_candidate_layer
        self.defaults = candidate_defaults()
        self.setCursor(QgsApplication.getThemeCursor(QgsApplication.Cursor.CapturePoint))
        self.snap_indicator = QgsSnapIndicator(canvas)
        self.last_message = ""

    @staticmethod
    def _first_candidate_layer():
        layers = candidate_layers()
        return layers[0] if layers and is_candidate_layer(layers[0]) else None

    def layer(self) -> Optional[QgsVectorLayer]:
        layer = self.layer_getter()
        return layer if isinstance(layer, QgsVectorLayer) and layer.isValid() else None

    # -- map tool -------------------------------------------------------------
    def activate(self):
        super().activate()
        self._say(tr(HINT))

    def deactivate(self):
        self.snap_indicator.setMatch(QgsPointLocator.Match())
        super().deactivate()

    def canvasMoveEvent(self, event):
        self.snap_indicator.setMatch(self.canvas().snappingUtils().snapToMap(event.originalMapPoint()))

    def canvasReleaseEvent(self, event):
        if event.button() == Qt.RightButton:
            self.finish()
        elif event.button() == Qt.LeftButton:
            point = self._snapped(event.originalMapPoint())
            if event.modifiers() & Qt.ShiftModifier:
                self.delete_at(point)
            else:
                self.add_at(point)

    def keyPressEvent(self, event):
        """Esc ends; Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo and redo on the candidate layer even when it is not the active layer."""
        layer = self.layer()
        control = bool(event.modifiers() & Qt.ControlModifier)
        if event.key() == Qt.Key_Escape:
            self.finish()
        elif control and event.key() == Qt.Key_Z and layer is not None:
            if event.modifiers() & Qt.ShiftModifier:
                layer.undoStack().redo()
            else:
                layer.undoStack().undo()
            layer.triggerRepaint()
        elif control and event.key() == Qt.Key_Y and layer is not None:
            layer.undoStack().redo()
            layer.triggerRepaint()
        else:
            event.ignore()
            return
        event.accept()

    def finish(self):
        """End drawing: the canvas drops the tool, and ``finished`` says so."""
        if self.canvas().mapTool() is self:
            self.canvas().unsetMapTool(self)
        self.finished.emit()

    # -- editing --------------------------------------------------------------
    def add_at(self, point: QgsPointXY) -> Optional[int]:
        """Add a candidate at ``point`` (canvas CRS); returns its feature id, or None (with a message) when it cannot."""
        chosen = self.layer()
        if chosen is not None and chosen.geometryType() != QgsWkbTypes.PointGeometry:
            self._say(tr("“{layer}” holds polygons: draw them with QGIS's Add Polygon Feature tool. "
                         "Shift+click here still removes one.").format(layer=chosen.name()))
            return None
        layer = self._editable_layer(QgsVectorDataProvider.AddFeatures)
        if layer is None:
            return None
        try:
            layer_point = self.toLayerCoordinates(layer, point)
        except QgsCsException:
            self._say(tr("This place cannot be expressed in the layer's coordinate system ({crs}).").format(crs=layer.crs().authid()))
            return None
        name = next_site_name(layer)
        fields = layer.fields()
        attributes = {fields.indexOf("name"): name} if fields.indexOf("name") >= 0 else {}
        for field_name, value in self.defaults.items():
            index = fields.indexOf(field_name)
            # A default the user set on the layer itself (Attributes Form) wins over ours.
            if index >= 0 and not layer.defaultValueDefinition(index).isValid():
                attributes[index] = value
        feature = QgsVectorLayerUtils.createFeature(layer, QgsGeometry.fromPointXY(layer_point), attributes)
        # A multipoint or 3D layer takes the point in its own geometry type.
        compatible = QgsVectorLayerUtils.makeFeatureCompatible(feature, layer)
        if len(compatible) != 1:
            self._say(tr("A point cannot be added to “{layer}”.").format(layer=layer.name()))
            return None
        feature = compatible[0]
        layer.beginEditCommand(tr("Add candidate site"))
        if not layer.addFeature(feature):
            layer.destroyEditCommand()
            self._say(tr("“{layer}” refused the new site.").format(layer=layer.name()))
            return None
        layer.endEditCommand()
        layer.triggerRepaint()
        self.added.emit(feature.id())
        self._say(tr("Added {name} to “{layer}”. Ctrl+Z undoes; save the layer edits to keep it.").format(name=name, layer=layer.name()))
        return feature.id()

    def delete_at(self, point: QgsPointXY, tolerance_px: float = DELETE_TOLERANCE_PX) -> Optional[int]:
        """Remove the candidate nearest ``point`` (canvas CRS) within ``tolerance_px`` screen pixels; returns its id, or None."""
        layer = self._editable_layer(QgsVectorDataProvider.DeleteFeatures)
        if layer is None:
            return None
        settings = self.canvas().mapSettings()
        tolerance = tolerance_px * settings.mapUnitsPerPixel()
        around = QgsRectangle(point.x() - tolerance, point.y() - tolerance, point.x() + tolerance, point.y() + tolerance)
        to_canvas = QgsCoordinateTransform(layer.crs(), settings.destinationCrs(), settings.transformContext())
        clicked = QgsGeometry.fromPointXY(point)
        nearest, nearest_distance = None, None
        try:
            request = QgsFeatureRequest().setFilterRect(self.toLayerCoordinates(layer, around)).setNoAttributes()
            for feature in layer.getFeatures(request):
                geometry = QgsGeometry(feature.geometry())
                geometry.transform(to_canvas)
                distance = geometry.distance(clicked)
                if distance <= tolerance and (nearest_distance is None or distance < nearest_distance):
                    nearest, nearest_distance = feature, distance
        except QgsCsException:
            nearest = None
        if nearest is None:
            self._say(tr("No candidate site under the click to remove."))
            return None
        name_index = layer.fields().indexOf("name")
        label = layer.getFeature(nearest.id()).attribute(name_index) if name_index >= 0 else None
        layer.beginEditCommand(tr("Remove candidate site"))
        if not layer.deleteFeature(nearest.id()):
            layer.destroyEditCommand()
            self._say(tr("“{layer}” refused to remove the site.").format(layer=layer.name()))
            return None
        layer.endEditCommand()
        layer.triggerRepaint()
        self.removed.emit(nearest.id())
        self._say(tr("Removed {name}. Ctrl+Z brings it back.").format(name=label or tr("the site")))
        return nearest.id()

    # -- helpers --------------------------------------------------------------
    def _snapped(self, point: QgsPointXY) -> QgsPointXY:
        """The snapped point when the project's snapping is on and finds something, else the click."""
        match = self.canvas().snappingUtils().snapToMap(point)
        return QgsPointXY(match.point()) if match.isValid() else point

    def _editable_layer(self, capability) -> Optional[QgsVectorLayer]:
        layer = self.layer()
        if layer is None:
            self._say(tr("No candidate layer: choose EV Charge Points > Draw candidate sites, which makes one, then click on the map."))
            return None
        if not layer.dataProvider().capabilities() & capability:
            self._say(tr("“{layer}” cannot be edited (read-only source).").format(layer=layer.name()))
            return None
        if not layer.isEditable() and not layer.startEditing():
            self._say(tr("“{layer}” could not be put in edit mode.").format(layer=layer.name()))
            return None
        return layer

    def _say(self, text: str) -> None:
        self.last_message = text
        self.message.emit(text)
