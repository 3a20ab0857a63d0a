"""Frames <-> QGIS layers.

Fields are typed from the pandas dtypes so that a layer keeps integers, booleans
and numbers as such (a planner filtering ``power_kw >= 50`` must not compare text).
"""
from pathlib import Path

import numpy as np
import pandas as pd
from qgis.PyQt.QtCore import QDate, QDateTime, QVariant
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsLayerMetadata,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

from ..core import schema
from ..core.validation import multipoint_wkb

_QVARIANT_OF_KIND = {"i": QVariant.LongLong, "u": QVariant.LongLong, "f": QVariant.Double, "b": QVariant.Bool, "M": QVariant.DateTime}


def attribute_value(value):
    """A QGIS attribute as a Python value: None for NULL, a datetime for a date-time."""
    if isinstance(value, QVariant):
        return None
    if isinstance(value, QDateTime):
        return value.toPyDateTime()
    return value


def python_rows(frame: pd.DataFrame) -> list:
    """A frame's rows as lists of values QGIS accepts: Python numbers and text, None for missing."""
    table = frame.to_numpy(dtype="object")
    table[frame.isna().to_numpy()] = None
    return table.tolist()


def _field_type(series: pd.Series):
    dtype = series.dtype
    if isinstance(dtype, pd.BooleanDtype):
        return QVariant.Bool
    if pd.api.types.is_integer_dtype(dtype):
        return QVariant.LongLong
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return QVariant.DateTime
    if dtype == object and series.dropna().map(lambda value: hasattr(value, "isoformat") and not hasattr(value, "hour")).all() and series.notna().any():
        return QVariant.Date
    return _QVARIANT_OF_KIND.get(dtype.kind, QVariant.String)


def fields_for(frame: pd.DataFrame) -> QgsFields:
    result = QgsFields()
    for column in frame.columns:
        if column == getattr(frame, "_geometry_column_name", None):
            continue
        result.append(QgsField(column, _field_type(frame[column])))
    return result


def _column_values(series: pd.Series, field_type) -> list:
    """One column as Python values SIP accepts, with None for every kind of missing.

    Converting whole columns keeps the per-feature loop down to a few C++ calls,
    which is what makes a 25,000-point load fast.
    """
    # A column of few distinct values (operator, speed band, flags) hands over one
    # QVariant per value, which every feature shares: SIP then converts nothing per
    # feature, and the layer holds one copy of each text. Its first rows tell cheaply
    # whether a column (ids, names) is too varied for that to pay.
    head = series.iloc[:2000]
    if field_type == QVariant.LongLong or (field_type in _SHARED_TYPES and series.dtype != object and head.nunique() * _SHARE_EVERY <= len(head)):
        codes, distinct = pd.factorize(series)
        if field_type == QVariant.LongLong or len(distinct) * _SHARE_EVERY <= len(series):
            variants = [_SHARED_TYPES[field_type](value) for value in distinct.tolist()] + [None]  # code -1 is missing
            return list(map(variants.__getitem__, codes.tolist()))
    values = series.astype(object).where(series.notna(), None).tolist()
    if field_type == QVariant.DateTime:
        return [None if value is None else QDateTime(pd.Timestamp(value).to_pydatetime()) for value in values]
    if field_type == QVariant.Date:
        return [None if value is None else QDate(value.year, value.month, value.day) for value in values]
    if field_type == QVariant.String:
        return [None if value is None else str(value) for value in values]
    return values


def _longlong(value: int) -> QVariant:
    # SIP turns a Python int into a 32-bit QVariant, which a memory layer then
    # converts, copying the feature, as it stores the 64-bit field (about 1 ms per
    # 1,000 features): hand over 64-bit values.
    variant = QVariant(int(value))
    variant.convert(QVariant.LongLong)
    return variant


# Field types whose values may be shared between features, and how one is made.
_SHARED_TYPES = {
    QVariant.String: lambda value: QVariant(str(value)),
    QVariant.Bool: lambda value: QVariant(bool(value)),
    QVariant.LongLong: _longlong,
}
# Building a QVariant costs about as much as SIP converting 16 values: share a
# column's values when each is used 16 times on average.
_SHARE_EVERY = 16


def point_geometries(x, y) -> list:
    """A point QgsGeometry per x/y pair.

    QGIS parses all the points from one multipoint WKB in C++: several times
    faster than building a QgsPoint and a QgsGeometry in Python for each.
    """
    if not len(x):
        return []
    multipoint = QgsGeometry()
    multipoint.fromWkb(multipoint_wkb(x, y))
    return multipoint.asGeometryCollection()


def _geometries(frame, xy=None) -> list:
    """QgsGeometry per row; points are built from x/y without a WKB round trip per point."""
    if xy is not None:
        return point_geometries(*xy)
    shapes = frame.geometry
    if len(frame) and (shapes.geom_type == "Point").all():
        # coords[0] is the cheapest per-point accessor on shapely 1.8 and fine on 2.
        x, y = np.array([shape.coords[0][:2] for shape in shapes]).T
        return point_geometries(x, y)
    geometries = []
    for shape in shapes:
        geometry = QgsGeometry()
        if shape is not None and not shape.is_empty:
            geometry.fromWkb(shape.wkb)
            if geometry.type() != QgsWkbTypes.PointGeometry:
                # Area and line layers are typed Multi*, which refuse single parts.
                geometry.convertToMultiType()
        geometries.append(geometry)
    return geometries


def features_from_frame(frame: pd.DataFrame, fields: QgsFields, xy=None, reuse=False):
    """Yield one QgsFeature per row, attributes in the order of ``fields``.

    ``xy`` optionally gives a point frame's coordinates as (x, y) arrays, which
    spares reading every point back out of shapely (slow on shapely 1.8).
    With ``reuse``, the same QgsFeature is yielded every time, refilled with the
    next row: for adding features to a sink one at a time, as a sink copies what
    it is given. That spares making, handing over in lists and freeing a Python
    QgsFeature per row, a third of what writing 25,000 points costs.
    """
    geometry_name = getattr(frame, "_geometry_column_name", None)
    columns = [name for name in frame.columns if name != geometry_name]
    values = [_column_values(frame[name], fields.field(name).type()) for name in columns]
    rows = zip(*values) if values else ([] for _ in range(len(frame)))
    geometries = _geometries(frame, xy) if geometry_name is not None or xy is not None else [None] * len(frame)
    feature = None
    for row, geometry in zip(rows, geometries):
        if feature is None or not reuse:
            # Not QgsFeature(fields): that fills every attribute with NULL first, only
            # for setAttributes to replace them all.
            feature = QgsFeature()
            feature.setFields(fields, False)
        feature.setAttributes(list(row))
        if geometry is not None:
            feature.setGeometry(geometry)
        yield feature


def _wkb_type(frame) -> int:
    geometry_name = getattr(frame, "_geometry_column_name", None)
    if geometry_name is None:
        return QgsWkbTypes.NoGeometry
    kinds = set(frame.geometry.geom_type.dropna())
    if kinds <= {"Point"}:
        return QgsWkbTypes.Point
    if kinds <= {"Polygon", "MultiPolygon"}:
        return QgsWkbTypes.MultiPolygon
    if kinds <= {"LineString", "MultiLineString"}:
        return QgsWkbTypes.MultiLineString
    return QgsWkbTypes.Unknown


def memory_layer(frame: pd.DataFrame, name: str, crs_epsg: int = schema.BNG_EPSG) -> QgsVectorLayer:
    """A memory layer holding the frame, with a spatial index when it has geometry."""
    wkb = _wkb_type(frame)
    geometry = QgsWkbTypes.displayString(wkb) if wkb != QgsWkbTypes.NoGeometry else "None"
    uri = f"{geometry}?crs=EPSG:{crs_epsg}" if geometry != "None" else "None"
    layer = QgsVectorLayer(uri, name, "memory")
    provider = layer.dataProvider()
    fields = fields_for(frame)
    provider.addAttributes(fields.toList())
    layer.updateFields()
    ok, _ = provider.addFeatures(list(features_from_frame(frame, layer.fields())))
    if not ok:
        raise RuntimeError(f"could not add features to the memory layer {name}: {provider.lastError()}")
    if geometry != "None":
        provider.createSpatialIndex()
    layer.updateExtents()
    return layer


def set_layer_metadata(layer: QgsVectorLayer, title: str, abstract: str, rights: str = "") -> None:
    metadata = QgsLayerMetadata(layer.metadata())
    metadata.setTitle(title)
    metadata.setAbstract(abstract)
    if rights:
        metadata.setRights([rights])
    layer.setMetadata(metadata)


def write_gpkg(layers: dict, path: Path) -> Path:
    """Write ``{table_name: QgsVectorLayer}`` into one GeoPackage through QGIS/OGR.

    QGIS 3.22 only partly reads GeoPackages written by newer GDALs, so the file is
    always written by the GDAL QGIS itself links against.
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    for index, (table, layer) in enumerate(layers.items()):
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = table
        options.fileEncoding = "UTF-8"
        options.layerMetadata = layer.metadata()
        options.saveMetadata = True
        options.actionOnExistingFile = QgsVectorFileWriter.CreateOrOverwriteFile if index == 0 else QgsVectorFileWriter.CreateOrOverwriteLayer
        error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(path), QgsCoordinateTransformContext(), options)
        if error != QgsVectorFileWriter.NoError:
            raise OSError(f"could not write layer {table} to {path}: {message}")
    return path


def write_csv(layer: QgsVectorLayer, path) -> str:
    """Write a layer's attributes to a UTF-8 CSV; return an error message, or "" on success."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "CSV"
    options.fileEncoding = "UTF-8"
    error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(path), QgsCoordinateTransformContext(), options)
    return "" if error == QgsVectorFileWriter.NoError else (message or f"error {error}")


def crs(epsg: int) -> QgsCoordinateReferenceSystem:
    return QgsCoordinateReferenceSystem(f"EPSG:{epsg}")


def parents_of(children_layer, parents_layer) -> list:
    """For each child area (ward), in layer order, the position of the parent area (borough) holding its inside point, or -1."""
    transform = QgsCoordinateTransform(children_layer.crs(), parents_layer.crs(), QgsProject.instance())
    parents = [feature.geometry() for feature in parents_layer.getFeatures()]
    boxes = [geometry.boundingBox() for geometry in parents]
    result = []
    for feature in children_layer.getFeatures():
        point = feature.geometry().pointOnSurface()
        if point.isNull():
            result.append(-1)
            continue
        point.transform(transform)
        at = point.asPoint()
        result.append(next((index for index, (box, geometry) in enumerate(zip(boxes, parents))
                            if box.contains(at) and geometry.contains(point)), -1))
    return result
