"""Utilisation metrics (DESIGN section 4), always from sums, never averages of averages.

Per charge point the sums over a period or range are kept beside the metrics
(hours occupied, hours available, capacity and so on), so that a ward, a
borough or an operator gets its metrics by adding those sums up and dividing
once: a busy rapid hub and a quiet lamp-post charger then weigh what their
hours weigh.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .choices import METRIC_KEYS  # noqa: F401 (part of this module's API)
from .i18n import tr
from .usage import USAGE_COLUMNS


@dataclass(frozen=True)
class Metric:
    key: str    # the field name in layers and tables
    label: str  # a short name with its unit, for legends and pickers
    short: str  # one line: what it is
    long: str   # how it is computed, for tooltips, help and layer metadata
    decimals: int


def _metrics():
    return (
        Metric("occupancy_pct", tr("Occupancy %"), tr("Share of the time a vehicle was plugged in."),
               tr("Occupancy % = hours a vehicle was plugged in / hours available x 100. Hours available are the "
                  "period's hours times the charge point's connectors. Time-based; the default measure of use."), 1),
        Metric("charging_pct", tr("Charging %"), tr("Share of the time a vehicle was drawing power."),
               tr("Charging % = hours drawing power / hours available x 100, over the periods whose returns give "
                  "charging hours. Lower than occupancy when vehicles stay plugged in after charging."), 1),
        Metric("capacity_factor_pct", tr("Capacity factor %"), tr("Energy delivered as a share of what the charge point could deliver."),
               tr("Capacity factor % = energy delivered (kWh) / (rated power (kW) x hours available) x 100. "
                  "Energy-based: a rapid charger plugged in for an hour at 10 kW scores low."), 1),
        Metric("sessions_per_day", tr("Sessions per day"), tr("Charging sessions per charge point per day."),
               tr("Sessions per day = sessions / days with usage data. For an area: all its sessions / the sum of "
                  "its charge points' days with data, so the mean per charge point."), 2),
        Metric("kwh_per_day", tr("kWh per day"), tr("Energy delivered per charge point per day."),
               tr("kWh per day = energy delivered (kWh) / days with usage data. For an area: all its energy / the sum "
                  "of its charge points' days with data."), 1),
        Metric("occupancy_change_pp", tr("Occupancy change (points)"), tr("Change in occupancy against the previous period, in percentage points."),
               tr("Occupancy change = occupancy % in the period - occupancy % in the period of the same length just "
                  "before it (the previous quarter for a quarter, the previous 12 months for 12 months), in "
                  "percentage points, each computed from summed hours."), 1),
    )


DEFAULT_METRIC = "occupancy_pct"
# Sums kept per charge point (and per area) so that metrics can be recomputed for any grouping.
SUM_COLUMNS = ["sessions", "energy_kwh", "occupied_hours", "charging_hours", "charging_available_hours",
               "available_hours", "capacity_kwh", "days", "previous_occupied_hours", "previous_available_hours"]


def metrics() -> dict:
    """Every metric by key, in the order pickers list them (translated when QGIS is up)."""
    return {metric.key: metric for metric in _metrics()}


def previous_range(start, end) -> tuple:
    """The range of the same length just before ``[start, end)``: whole months shift by months, else by days."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start.day == 1 and end.day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month
        return start - pd.DateOffset(months=months), start
    return start - (end - start), start


def _in_range(usage: pd.DataFrame, start, end) -> pd.DataFrame:
    inside = pd.Series(True, index=usage.index)
    if start is not None:
        inside &= usage["period_start"] >= pd.Timestamp(start)
    if end is not None:
        inside &= usage["period_end"] <= pd.Timestamp(end)
    return usage.loc[inside]


def usage_sums(usage: pd.DataFrame, power_kw: pd.Series, by=("chargepoint_id",)) -> pd.DataFrame:
    """Sum usage rows by ``by``: the sums every metric is computed from.

    ``power_kw`` is indexed by charge point id. Charging hours are summed, with
    their hours available, only over rows that report them, so a return without
    charging hours neither lowers nor raises charging %.
    """
    rows = usage[list(dict.fromkeys(list(by) + USAGE_COLUMNS))].copy()
    charging_known = rows["charging_hours"].notna()
    rows["charging_available_hours"] = rows["available_hours"].where(charging_known, 0.0)
    rows["charging_hours"] = rows["charging_hours"].fillna(0.0)
    rows["charging_reported"] = charging_known
    rows["capacity_kwh"] = rows["chargepoint_id"].map(power_kw).astype("float64") * rows["available_hours"]
    rows["days"] = (rows["period_end"] - rows["period_start"]).dt.days.astype("float64")
    columns = ["sessions", "energy_kwh", "occupied_hours", "charging_hours", "charging_available_hours",
               "available_hours", "capacity_kwh", "days", "charging_reported"]
    sums = rows.groupby(list(by), sort=True, observed=True)[columns].sum(min_count=1)
    sums["charging_hours"] = sums["charging_hours"].where(sums.pop("charging_reported") > 0)
    return sums


def _ratio(numerator, denominator, scale=1.0) -> np.ndarray:
    numerator = np.asarray(numerator, dtype="float64")
    denominator = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0) * scale, np.nan)


def definitions_html(label: str = "key") -> str:
    """Every metric's long definition as HTML list items, named by its ``key`` (algorithms' help) or ``label`` (dialogs)."""
    return "".join(f"<li><b>{getattr(metric, label)}</b>: {metric.long}</li>" for metric in metrics().values())


def metrics_from_sums(sums: pd.DataFrame) -> pd.DataFrame:
    """Add one column per metric to a frame of SUM_COLUMNS (rows: charge points or areas)."""
    occupancy = _ratio(sums["occupied_hours"], sums["available_hours"], 100.0)
    computed = {
        "occupancy_pct": occupancy,
        "charging_pct": _ratio(sums["charging_hours"], sums["charging_available_hours"], 100.0),
        "capacity_factor_pct": _ratio(sums["energy_kwh"], sums["capacity_kwh"], 100.0),
        "sessions_per_day": _ratio(sums["sessions"], sums["days"]),
        "kwh_per_day": _ratio(sums["energy_kwh"], sums["days"]),
        "occupancy_change_pp": occupancy - _ratio(sums["previous_occupied_hours"], sums["previous_available_hours"], 100.0),
    }
    # Joined in one step: adding the columns one by one costs more than computing them.
    return pd.concat([sums.drop(columns=[key for key in computed if key in sums]), pd.DataFrame(computed, index=sums.index)], axis=1)


def utilisation(usage: pd.DataFrame, chargepoints: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """Sums and metrics per charge point over ``[start, end)``, one row per charge point given.

    ``usage`` holds the archive's rows (any range: those wholly inside the
    range count, those in the range just before it give the change);
    ``chargepoints`` has ``chargepoint_id`` and ``power_kw``. A charge point
    without usage in the range keeps its row, with its sums and metrics empty.
    """
    power = chargepoints.set_index("chargepoint_id")["power_kw"]
    current = usage_sums(_in_range(usage, start, end), power)
    if start is not None and end is not None:
        before = usage_sums(_in_range(usage, *previous_range(start, end)), power)
    else:
        before = current.iloc[0:0]
    ids = pd.Index(chargepoints["chargepoint_id"], name="chargepoint_id")
    sums = current.reindex(ids)
    sums["previous_occupied_hours"] = before["occupied_hours"].reindex(ids)
    sums["previous_available_hours"] = before["available_hours"].reindex(ids)
    return metrics_from_sums(sums[SUM_COLUMNS]).reset_index()


def utilisation_by_period(usage: pd.DataFrame, chargepoints: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """:func:`utilisation` for each archived period inside ``[start, end)``, stacked, with ``period_start``/``period_end``."""
    periods = _in_range(usage, start, end)[["period_start", "period_end"]].drop_duplicates().sort_values(["period_start", "period_end"])
    frames = [utilisation(usage, chargepoints, period.period_start, period.period_end).assign(
        period_start=period.period_start, period_end=period.period_end) for period in periods.itertuples()]
    if not frames:
        return utilisation(usage.iloc[0:0], chargepoints.iloc[0:0]).assign(period_start=pd.NaT, period_end=pd.NaT)
    return pd.concat(frames, ignore_index=True)

