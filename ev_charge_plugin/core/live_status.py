"""Live status of charge points (OCPI 2.2.1 EVSE statuses) and the reliability it adds up to.

The Public Charge Point Regulations 2023 count a charge point as working when it
is available, charging or reserved; reliability is the share of status
snapshots in which it was working.
"""
import pandas as pd

from .i18n import tr

# OCPI 2.2.1 EVSE statuses, in the four groups the map shows.
AVAILABLE, IN_USE, OUT_OF_ORDER, UNKNOWN = "available", "in use", "out of order", "unknown"
STATUS_GROUPS = {
    "AVAILABLE": AVAILABLE,
    "CHARGING": IN_USE, "RESERVED": IN_USE, "BLOCKED": IN_USE,
    "OUTOFORDER": OUT_OF_ORDER, "INOPERATIVE": OUT_OF_ORDER,
    "UNKNOWN": UNKNOWN, "PLANNED": UNKNOWN, "REMOVED": UNKNOWN,
}
WORKING_STATUSES = ("AVAILABLE", "CHARGING", "RESERVED")
RELIABILITY_COLUMNS = ["chargepoint_id", "operator", "snapshots", "working", "reliability_pct", "last_status", "last_seen"]


def group_labels() -> dict:
    """The status groups as legends name them."""
    return {
        AVAILABLE: tr("Available"),
        IN_USE: tr("Charging, reserved or blocked"),
        OUT_OF_ORDER: tr("Out of order or inoperative"),
        UNKNOWN: tr("Unknown, planned or removed"),
    }


def refreshed_label(fetched_at: str) -> str:
    """An ISO 8601 time as a legend says it: "28 Nov 2026 06:55 UTC"."""
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(fetched_at.replace("Z", "+00:00")).astimezone(timezone.utc)
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def status_group(statuses: pd.Series) -> pd.Series:
    """Each OCPI status's group; anything else (misspelt, empty) is UNKNOWN."""
    return statuses.astype("string").str.strip().str.upper().map(STATUS_GROUPS).fillna(UNKNOWN).astype("string")


def reliability(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Reliability per charge point from status snapshots (``chargepoint_id``, ``status``, ``fetched_at``, ``operator``).

    ``reliability_pct`` = snapshots in a working state (available, charging or
    reserved) / all snapshots x 100. ``last_status`` is the status in the
    newest snapshot.
    """
    if snapshots.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in RELIABILITY_COLUMNS})
    frame = snapshots.assign(working=snapshots["status"].astype("string").str.strip().str.upper().isin(WORKING_STATUSES).fillna(False))
    frame = frame.sort_values("fetched_at", kind="stable")
    groups = frame.groupby("chargepoint_id", sort=True)
    result = pd.DataFrame({
        "operator": groups["operator"].last(),
        "snapshots": groups.size(),
        "working": groups["working"].sum().astype("int64"),
        "last_status": groups["status"].last(),
        "last_seen": groups["fetched_at"].max(),
    })
    result["reliability_pct"] = result["working"] / result["snapshots"] * 100.0
    return result.reset_index()[RELIABILITY_COLUMNS]


SUMMARY_COLUMNS = ["by", "name", "charge_points", "snapshots", "working", "reliability_pct", "out_of_order_now"]


def reliability_summary(points: pd.DataFrame, by: str, label: str) -> pd.DataFrame:
    """Reliability of each group of charge points (``by``: a column such as ``operator`` or ``area``), from sums.

    ``points`` has ``snapshots``, ``working`` and ``status`` per charge point.
    ``reliability_pct`` = all the group's working snapshots / all its snapshots
    x 100: a charge point seen twice weighs twice as much as one seen once, and
    no group's figure is an average of percentages. ``out_of_order_now`` counts
    those whose latest status is out of order or inoperative. ``label`` fills
    ``by`` in the result (for example "borough").
    """
    frame = points.assign(group=points[by].astype("string").fillna(tr("(none)")),
                          out_of_order=status_group(points["status"]).eq(OUT_OF_ORDER).to_numpy())
    groups = frame.groupby("group", sort=True)
    result = pd.DataFrame({
        "charge_points": groups.size(),
        "snapshots": groups["snapshots"].sum(min_count=1),
        "working": groups["working"].sum(min_count=1),
        "out_of_order_now": groups["out_of_order"].sum().astype("int64"),
    })
    result["reliability_pct"] = result["working"] / result["snapshots"].where(result["snapshots"] > 0) * 100.0
    result = result.rename_axis("name").reset_index().assign(by=label)
    return result[SUMMARY_COLUMNS].sort_values(["reliability_pct", "name"], na_position="last", kind="stable").reset_index(drop=True)
