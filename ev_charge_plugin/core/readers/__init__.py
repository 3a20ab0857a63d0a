"""Readers: each turns one kind of source into the canonical frame plus a report."""
from dataclasses import dataclass

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
