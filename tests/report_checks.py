"""What the readers' property tests check of every report, whatever the reader."""
from hypothesis import HealthCheck, settings

from ev_charge_plugin.core.report import FLAGGED, REJECTED, REPAIRED, WARNING

FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEVERITIES = {REJECTED, REPAIRED, FLAGGED, WARNING}


def check_problems(report) -> None:
    """Every problem has a known severity, a reason, and a line or feature number from 1 (or none)."""
    for problem in report.problems:
        assert problem.severity in SEVERITIES and problem.reason
        assert problem.record is None or problem.record >= 1


def rejected_records(result) -> set:
    """The records a reader rejected; a record rejected twice fails the test."""
    records = [problem.record for problem in result.report.problems if problem.severity == REJECTED]
    assert len(records) == len(set(records)), "a record was rejected twice"
    return set(records)
