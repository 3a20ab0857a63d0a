"""Resolve a load source (file, Datastore dataset or the demo) to a local file."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject

DATASTORE_PREFIX = "datastore:"
DEMO_SOURCE = "demo"
# Resource formats a charge point load can read, any of which the Datastore may offer.
CHARGEPOINT_FORMATS = ("gpkg", "geopackage", "geojson", "json", "csv", "zip", "shp")
# ... and a usage import: returns and session files are CSV, OCPI CDRs JSON.
USAGE_FORMATS = ("csv", "json")
CHARGEPOINTS, USAGE = "chargepoints", "usage"


@dataclass
class FetchedSource:
    path: Path
    label: str
    warnings: List[str] = field(default_factory=list)


def datastore_client():
    """A DatastoreClient wired to QGIS's network stack and the user's settings."""
    from ..core.datastore import DatastoreClient
    from ..toolbelt.settings import PluginSettings
    from .network import QgisTransport

    settings = PluginSettings.load()
    return DatastoreClient(
        base_url=settings.effective_datastore_url(),
        transport=QgisTransport(authcfg=settings.authcfg or None),
        cache_dir=settings.effective_cache_dir() / "datastore",
        timeout=settings.timeout_seconds,
    )


def fetch_source(source: str, feedback, progress=(0, 100), kind: str = CHARGEPOINTS) -> FetchedSource:
    """The local file behind ``source``; ``kind`` (CHARGEPOINTS or USAGE) picks the Datastore formats and the demo file."""
    start, end = progress
    if source.lower() == DEMO_SOURCE:
        return _demo_source(kind)
    if source.lower().startswith(DATASTORE_PREFIX):
        slug = source[len(DATASTORE_PREFIX):].strip()

        def report_progress(received, total):
            if total:
                feedback.setProgress(start + (end - start) * received / total)

        feedback.setProgressText(f"London Datastore: {slug}")
        download = datastore_client().download(
            slug, USAGE_FORMATS if kind == USAGE else CHARGEPOINT_FORMATS, progress=report_progress, cancelled=feedback.isCanceled)
        warnings = [download.warning] if download.warning else []
        title = download.resource.get("title") or download.path.name
        return FetchedSource(download.path, f"London Datastore: {slug} ({title})", warnings)
    return FetchedSource(Path(source), Path(source.replace("/vsizip/", "")).name)


def _demo_source(kind: str) -> FetchedSource:
    from ..core.demo import LAYER_NAMES, build_demo, write_demo_csv, write_demo_usage_return
    from ..toolbelt.settings import PluginSettings

    folder = PluginSettings.load().effective_cache_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    if kind == USAGE:
        return FetchedSource(write_demo_usage_return(build_demo(), folder), LAYER_NAMES["usage"])
    return FetchedSource(write_demo_csv(build_demo(), folder), LAYER_NAMES["charge_points"])


def areas_from_source(feature_source, context, fields=()):
    """A polygon source's features as a GeoDataFrame in EPSG:27700, with the attributes in ``fields``."""
    import geopandas as gpd
    from shapely import wkb

    from ..core import schema

    target = QgsCoordinateReferenceSystem(f"EPSG:{schema.BNG_EPSG}")
    transform = QgsCoordinateTransform(feature_source.sourceCrs(), target, context.transformContext() if context else QgsProject.instance().transformContext())
    # Field names as the layer spells them: "name" finds NAME too.
    actual = {field: next((name for name in feature_source.fields().names() if name.lower() == field.lower()), None) for field in fields}
    rows, shapes = [], []
    for feature in feature_source.getFeatures():
        geometry = feature.geometry()
        if geometry.isNull():
            continue
        geometry.transform(transform)
        shapes.append(wkb.loads(bytes(geometry.asWkb())))
        rows.append({field: feature[name] if name else None for field, name in actual.items()})
    return gpd.GeoDataFrame(rows, columns=list(fields), geometry=shapes, crs=schema.BNG_EPSG)


def boundary_from_source(feature_source, context):
    """Union of a polygon source's features as one shapely geometry in EPSG:27700, or None."""
    if feature_source is None:
        return None
    from ..core.areas import london_boundary_from

    areas = areas_from_source(feature_source, context)
    return london_boundary_from(areas) if len(areas) else None
