"""The validation report: one row per problem found while reading a source."""
from dataclasses import dataclass, field, asdict
from typing import List, Optional

import pandas as pd

REJECTED = "rejected"  # the record is not in the output
REPAIRED = "repaired"  # the record is in the output, changed as the reason says
FLAGGED = "flagged"    # the record is in the output as it was, but worth a look
WARNING = "warning"    # about the file rather than one record
REPLACED = "replaced"  # the record replaced an older one in the history archive (kept aside there)

REPORT_COLUMNS = ["source", "record", "chargepoint_id", "field", "severity", "reason"]


@dataclass
class Problem:
    source: str
    record: Optional[int]  # line number (CSV, header is line 1) or feature number (layers, from 1)
    chargepoint_id: str
    field: str
    severity: str
    reason: str


@dataclass
class ValidationReport:
    source: str = ""
    problems: List[Problem] = field(default_factory=list)

    def add(self, record, field_name, reason, severity=REJECTED, chargepoint_id=""):
        record = None if record is None or pd.isna(record) else int(record)
        chargepoint_id = "" if chargepoint_id is None or pd.isna(chargepoint_id) else str(chargepoint_id)
        self.problems.append(Problem(self.source, record, chargepoint_id, field_name, severity, reason))

    def count(self, severity: str) -> int:
        return sum(1 for problem in self.problems if problem.severity == severity)

    @property
    def rejected(self) -> int:
        return self.count(REJECTED)

    def of_record(self, record: int) -> List[Problem]:
        return [problem for problem in self.problems if problem.record == record]

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame([asdict(problem) for problem in self.problems], columns=REPORT_COLUMNS)
        return frame.astype({"record": "Int64"})

    def to_csv(self, path) -> None:
        self.to_frame().to_csv(path, index=False, encoding="utf-8")
