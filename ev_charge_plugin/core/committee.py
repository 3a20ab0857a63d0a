"""What a committee report page says in words and figures: its key figures table, and its sources.

The figures are the area summary's own (``area_summary.summarise_areas``),
formatted once here, so the printed page and any check of it read the same text.
"""
import math
from datetime import date
from typing import Iterable, List, Optional, Tuple

from . import demo
from .i18n import tr

NO_DATA = "–"  # an en dash: a figure the period does not give (no usage, no previous period)


def _number(value) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _count(value) -> str:
    number = _number(value)
    return NO_DATA if number is None else f"{number:,.0f}"


def _percent(value) -> str:
    number = _number(value)
    return NO_DATA if number is None else f"{number:.1f}%"


def _points(value) -> str:
    number = _number(value)
    return NO_DATA if number is None else tr("{value:+.1f} points").format(value=number)


# (label, how to read it from a summary row, how to print it)
FIGURES = (
    (tr("Charge points"), lambda row: row.get("chargepoints"), _count),
    (tr("Rapid charge points (50 kW and above)"),
     lambda row: None if row.get("rapid_count") is None else (_number(row.get("rapid_count")) or 0) + (_number(row.get("ultra_rapid_count")) or 0),
     _count),
    (tr("Mean occupancy"), lambda row: row.get("occupancy_pct"), _percent),
    (tr("Sessions"), lambda row: row.get("sessions") if row.get("with_usage") else None, _count),
    (tr("Energy (kWh)"), lambda row: row.get("energy_kwh") if row.get("with_usage") else None, _count),
    (tr("Occupancy change on the previous period"), lambda row: row.get("occupancy_change_pp"), _points),
)


def key_figures(area: dict, london: dict) -> List[Tuple[str, str, str]]:
    """(figure, the area's value, London's value) for the key figures table, as printed.

    ``area`` and ``london`` are summary rows: an area of ``evcharge:areasummary``'s
    output, and its TOTAL. Sums of an area without usage print as a dash, not 0.
    """
    return [(label, show(read(area)), show(read(london))) for label, read, show in FIGURES]


def is_demo(sources: Iterable[str]) -> bool:
    """True when the charge points come from the plugin's synthetic demo data."""
    marks = {"demo", *demo.LAYER_NAMES.values()}
    return any(str(source).endswith(demo.CSV_FILE_NAME) or str(source) in marks for source in sources)


def sources_text(chargepoint_sources: Iterable[str], boundaries: str, archive: str = "", today: Optional[date] = None) -> str:
    """The page's sources and licences: the data used, the OS attribution, and the demo notice when it applies."""
    today = today or date.today()
    sources = sorted({str(source) for source in chargepoint_sources if source})
    lines = []
    if is_demo(sources):
        lines.append(tr("SYNTHETIC DEMO DATA: the charge points, usage and boundaries shown are invented, not real."))
    shown = ", ".join(sources[:4]) + (tr(" and {count} more").format(count=len(sources) - 4) if len(sources) > 4 else "")
    parts = [tr("Charge points: {sources}.").format(sources=shown or tr("the charge point layer"))]
    if archive:
        parts.append(tr("Usage: the operators' returns kept in the history archive {archive}.").format(archive=archive))
    parts.append(tr("Boundaries: {boundaries}.").format(boundaries=boundaries))
    parts.append(tr("London Datastore data under the Open Government Licence v3.0."))
    lines.append(" ".join(parts))
    lines.append(tr("Contains Ordnance Survey data © Crown copyright and database right {year}. "
                    "Contains National Statistics data © Crown copyright and database right {year}.").format(year=today.year))
    return "\n".join(lines)
