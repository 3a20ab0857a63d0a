"""Readers: each turns one kind of source into the canonical frame plus a report."""
import csv
import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import SourceError
from ..i18n import tr
from ..report import ValidationReport


@dataclass
class ReadResult:
    chargepoints: "geopandas.GeoDataFrame"  # noqa: F821 - canonical frame, EPSG:27700
    report: ValidationReport

    @property
    def loaded(self) -> int:
        return len(self.chargepoints)

    @property
    def rejected(self) -> int:
        return self.report.rejected


VECTOR_SUFFIXES = (".gpkg", ".shp", ".zip")
JSON_SUFFIXES = (".json", ".geojson")
CSV_SUFFIXES = (".csv", ".txt")
GEOJSON_TYPES = ("FeatureCollection", "Feature")
# Enough for any header line, the registry's 158 columns included.
HEADER_BYTES = 64 * 1024


def _is_geojson(path) -> bool:
    """GeoJSON rather than OCPI; anything that is not valid JSON goes to the OCPI reader, which says why."""
    from ..encoding import decode_text
    from ._common import read_source

    data, name = read_source(path)
    try:
        document = json.loads(decode_text(data, name)[0])
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and document.get("type") in GEOJSON_TYPES


def _is_ncr(path) -> bool:
    """The registry's export, judged from its header line alone (the registry writes commas).

    Only the start of the file is read: the chosen reader reads it all anyway.
    A file that cannot be opened is left to that reader, which says why.
    """
    from ..encoding import decode_text
    from ..errors import SourceError
    from .ncr import is_ncr_header

    try:
        if isinstance(path, (bytes, bytearray)):
            head = bytes(path[:HEADER_BYTES])
        else:
            with open(path, "rb") as handle:
                head = handle.read(HEADER_BYTES)
        header_line = decode_text(head)[0].partition("\n")[0]
    except (OSError, SourceError):
        return False
    return is_ncr_header(next(csv.reader([header_line]), []))


def read_chargepoints(path, **options) -> ReadResult:
    """Read charge points from any supported file, chosen by extension and content.

    ``.csv``: the National Chargepoint Registry export if the header has
    ``chargeDeviceID``, else the plugin's data standard. ``.json``/``.geojson``:
    GeoJSON if the document is a FeatureCollection or Feature, else OCPI Locations.
    ``.gpkg``, ``.shp``, ``.zip`` and ``/vsizip/`` paths: vector layers.
    ``options`` go to the reader (``london_only``, ``london_boundary``,
    ``source``); ``layer`` is used by vector layers only.
    """
    from .ncr import read_ncr
    from .ocpi import read_ocpi
    from .standard_csv import read_standard_csv
    from .vector import read_vector

    text = str(path)
    suffix = PurePosixPath(text).suffix.lower()
    layer = options.pop("layer", None)
    if text.lower().startswith("/vsizip/") or suffix in VECTOR_SUFFIXES:
        return read_vector(path, layer=layer, **options)
    if suffix in JSON_SUFFIXES:
        return read_vector(path, layer=layer, **options) if _is_geojson(path) else read_ocpi(path, **options)
    if suffix in CSV_SUFFIXES:
        return read_ncr(path, **options) if _is_ncr(path) else read_standard_csv(path, **options)
    raise SourceError(tr("{name} is not a format the plugin reads: use CSV, OCPI JSON, GeoJSON, GeoPackage, Shapefile or a zip of one.").format(name=PurePosixPath(text).name))
