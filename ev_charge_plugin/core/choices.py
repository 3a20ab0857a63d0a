"""Names and defaults the Processing algorithms show in their parameters, kept free of the analyses'
libraries: QGIS builds every algorithm's parameters when it starts, and should not load pandas for that."""
from dataclasses import dataclass

# The metrics of DESIGN section 4, in the order the algorithms offer them (see utilisation.metrics()).
METRIC_KEYS = ("occupancy_pct", "charging_pct", "capacity_factor_pct", "sessions_per_day", "kwh_per_day", "occupancy_change_pp")

DEFAULT_RADIUS_M = 400.0
DEFAULT_MIN_SEPARATION_M = 200.0
DEFAULT_TIME_LIMIT_S = 60.0

PARTS = ("new_demand", "served_demand", "pressure", "constraints_broken")


@dataclass(frozen=True)
class ScoreWeights:
    """The weight of each score part; written into the output with the scores."""

    new_demand: float = 1.0
    served_demand: float = -0.25
    pressure: float = 0.5
    constraints_broken: float = -2.0

    def as_dict(self) -> dict:
        return {part: float(getattr(self, part)) for part in PARTS}

    def describe(self) -> str:
        return "; ".join(f"{part}={value:g}" for part, value in self.as_dict().items())
