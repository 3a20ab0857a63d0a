"""Charge points summed by area: boroughs, wards, LSOAs or a user's own zones.

Every figure of an area is a count or a sum over the charge points inside it,
and its metrics are computed once from those sums (DESIGN section 4), never by
averaging the charge points' percentages. An area without charge points has
zero counts and zero sums; its metrics, being ratios over no hours, are empty.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from . import schema
from .i18n import tr
from .utilisation import SUM_COLUMNS, metrics_from_sums

SPEED_BANDS = (schema.SLOW, schema.FAST, schema.RAPID, schema.ULTRA_RAPID)
# Field names for the count of each speed band (a field name cannot hold "-").
BAND_FIELDS = {band: f"{band.replace('-', '_')}_count" for band in SPEED_BANDS}
COUNT_FIELDS = ["chargepoints", *BAND_FIELDS.values(), "with_usage"]
POPULATION_NAMES = ("population", "usual_residents", "residents", "pop", "population_2021", "usualres")
HOUSEHOLD_NAMES = ("households_no_offstreet", "households_without_offstreet", "hh_no_offstreet", "no_offstreet_households")
PER_RESIDENTS = "chargepoints_per_10k_residents"
PER_HOUSEHOLDS = "chargepoints_per_1k_households_no_offstreet"
TOTAL = "total"  # the scope of the rows that sum every charge point inside any area
AREA = "area"


@dataclass
class AreaSummary:
    areas: pd.DataFrame        # one row per area, in the areas' order: counts, sums, metrics, per-capita rates
    point_area: np.ndarray     # the position of each point's area, -1 outside every area
    total: pd.Series           # the same figures for all the points inside any area together
    outside: int               # points in no area

    def share_outside(self) -> float:
        return self.outside / len(self.point_area) if len(self.point_area) else 0.0


def guess_field(columns, names) -> Optional[str]:
    """The first column whose lower-case name is one of ``names`` (in their order), or None."""
    lower = {str(column).lower(): column for column in columns}
    return next((lower[name] for name in names if name in lower), None)


def _columns(points: pd.DataFrame, inside: np.ndarray) -> dict:
    """The columns :func:`_sums` uses, as numpy arrays of the points inside an area (converted once for both sums)."""
    bands = points["speed_band"].to_numpy()[inside] if "speed_band" in points else np.full(int(inside.sum()), schema.UNKNOWN)
    # Compared as integer codes: comparing 25,000 strings four times costs more than all the sums.
    codes, names = pd.factorize(bands)
    code_of = {band: code for code, band in enumerate(names)}
    columns = {"in_band": {band: codes == code_of.get(band, -2) for band in BAND_FIELDS}}
    for column in SUM_COLUMNS:
        if column in points:
            columns[column] = pd.to_numeric(points[column], errors="coerce").to_numpy("float64")[inside]
    return columns


def _sums(columns: dict, groups: np.ndarray, size: int) -> pd.DataFrame:
    """Counts by speed band and usage sums of the points' ``columns`` grouped by ``groups`` (0..size-1); empty groups are zeros."""
    sums = {"chargepoints": np.bincount(groups, minlength=size)}
    for band, field in BAND_FIELDS.items():
        sums[field] = np.bincount(groups[columns["in_band"][band]], minlength=size)
    with_usage = ~np.isnan(columns["available_hours"]) if "available_hours" in columns else np.zeros(len(groups), bool)
    sums["with_usage"] = np.bincount(groups[with_usage], minlength=size)
    for column in SUM_COLUMNS:
        values = columns.get(column)
        if values is None:
            sums[column] = np.zeros(size)
            continue
        known = ~np.isnan(values)
        sums[column] = np.bincount(groups[known], weights=values[known], minlength=size)
        # Charging hours count only where reported: without any, charging % stays empty rather than 0.
        if column == "charging_hours":
            sums[column] = np.where(np.bincount(groups[known], minlength=size) > 0, sums[column], np.nan)
    if "charging_hours" not in columns:
        sums["charging_hours"] = np.full(size, np.nan)
    return pd.DataFrame(sums)


def _rates(summary: pd.DataFrame, residents, homes) -> pd.DataFrame:
    """Add charge points per 10,000 ``residents`` and per 1,000 ``homes`` without off-street parking (float arrays or None)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if residents is not None:
            summary[PER_RESIDENTS] = np.where(residents > 0, summary["chargepoints"] / residents * 10_000, np.nan)
        if homes is not None:
            summary[PER_HOUSEHOLDS] = np.where(homes > 0, summary["chargepoints"] / homes * 1_000, np.nan)
    return summary


def _numbers(values):
    return None if values is None else pd.to_numeric(pd.Series(values), errors="coerce").to_numpy("float64")


def summarise_areas(points: pd.DataFrame, point_area: np.ndarray, area_count: int,
                    population=None, households=None) -> AreaSummary:
    """Sum ``points`` into ``area_count`` areas.

    ``points`` has ``speed_band`` and, when usage is known, the per-charge-point
    sums of :data:`SUM_COLUMNS` (empty where a charge point has no usage);
    ``point_area`` gives each point's area position, -1 outside (see
    :func:`areas.locate_points`). ``population`` and ``households`` (households
    without off-street parking), one value per area, add the per-capita rates.
    """
    point_area = np.asarray(point_area, dtype="int64")
    inside = point_area >= 0
    columns = _columns(points, inside)
    sums = _sums(columns, point_area[inside], area_count)
    summary = metrics_from_sums(sums)
    # Every point inside is in exactly one area, so the areas' sums add up to the total.
    # Charging hours stay empty where no area reported any, as they do for one area.
    total = metrics_from_sums(pd.DataFrame({column: [values.sum(min_count=1 if column == "charging_hours" else 0)]
                                            for column, values in sums.items()}))
    residents, homes = _numbers(population), _numbers(households)
    summary = _rates(summary, residents, homes)
    # All areas together: the summed residents (and homes); none known gives none rather than 0.
    total = _rates(total, *(None if values is None else np.array([np.nansum(values) if np.isfinite(values).any() else np.nan])
                            for values in (residents, homes)))
    return AreaSummary(summary, point_area, total.iloc[0], int((~inside).sum()))


def trends(per_point_periods: pd.DataFrame, point_area: np.ndarray, names) -> pd.DataFrame:
    """Sums and metrics per area per period, and for all areas together (scope ``total``).

    ``per_point_periods`` is :func:`utilisation.utilisation_by_period` output for
    the points (``chargepoint_id``, ``period_start``, ``period_end``, sums),
    with a ``point`` column giving each row's position among the points.
    """
    positions = per_point_periods["point"].to_numpy()
    area = np.asarray(point_area, dtype="int64")[positions]
    rows = per_point_periods.loc[area >= 0].assign(area=area[area >= 0])
    keys = ["period_start", "period_end"]
    by_area = rows.groupby(["area", *keys], sort=True)[SUM_COLUMNS].sum(min_count=1).reset_index()
    by_area.insert(0, "scope", AREA)
    by_area.insert(1, "area_name", pd.Series(list(names), dtype="object").reindex(by_area.pop("area")).to_numpy())
    overall = rows.groupby(keys, sort=True)[SUM_COLUMNS].sum(min_count=1).reset_index()
    overall.insert(0, "scope", TOTAL)
    overall.insert(1, "area_name", tr("All areas"))
    return metrics_from_sums(pd.concat([by_area, overall], ignore_index=True))


def operators(points: pd.DataFrame, point_area: np.ndarray, names) -> pd.DataFrame:
    """Charge points and sessions by operator in each area and in all areas together.

    ``share_of_chargepoints_pct`` and ``share_of_sessions_pct`` are the
    operator's share of the area's charge points and of its sessions.
    """
    area = np.asarray(point_area, dtype="int64")
    inside = area >= 0
    operator = points["operator"].astype("object").where(points["operator"].notna(), tr("(operator unknown)")) \
        if "operator" in points else pd.Series(tr("(operator unknown)"), index=points.index)
    sessions = pd.to_numeric(points["sessions"], errors="coerce") if "sessions" in points else pd.Series(np.nan, index=points.index)
    rows = pd.DataFrame({"area": area[inside], "operator": operator.to_numpy()[inside], "sessions": sessions.to_numpy()[inside]})
    # The total is one more area, -1, holding every row again.
    rows = pd.concat([rows, rows.assign(area=-1)], ignore_index=True)
    grouped = rows.groupby(["area", "operator"], sort=True).agg(
        chargepoints=("operator", "size"), sessions=("sessions", lambda values: values.sum(min_count=1))).reset_index()
    parent = grouped.groupby("area")[["chargepoints", "sessions"]].transform("sum")
    grouped["share_of_chargepoints_pct"] = grouped["chargepoints"] / parent["chargepoints"] * 100
    grouped["share_of_sessions_pct"] = (grouped["sessions"] / parent["sessions"].where(parent["sessions"] > 0) * 100).astype("float64")
    area_names = pd.Series(list(names), dtype="object").reindex(grouped["area"]).to_numpy()
    total = grouped.pop("area").to_numpy() < 0
    grouped.insert(0, "scope", np.where(total, TOTAL, AREA))
    grouped.insert(1, "area_name", np.where(total, tr("All areas"), area_names))
    # Areas in their own order, then the total.
    return grouped.iloc[np.lexsort((np.arange(len(grouped)), total))].reset_index(drop=True)
