"""Small workbooks in the layout of DfT's "Electric vehicle public charging infrastructure statistics".

Each sheet has notes rows, a header row (code, name, one column per quarter Oct-19
to Oct-25), the UK, England and London rows, the 33 London boroughs, a region and
two authorities outside London, then notes rows. Counts follow :func:`devices`,
so tests can state what a cell holds; :data:`CELLS` overrides a few cells with
what real editions contain (missing markers, counts stored as text).
"""
from datetime import datetime
from pathlib import Path

import pandas as pd

from ev_charge_plugin.core.dft_stats import LONDON_BOROUGH_CODES, LONDON_CODE

BOROUGH_NAMES = (
    "City of London", "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "Croydon", "Ealing",
    "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey", "Harrow", "Havering", "Hillingdon",
    "Hounslow", "Islington", "Kensington and Chelsea", "Kingston upon Thames", "Lambeth", "Lewisham", "Merton",
    "Newham", "Redbridge", "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster",
)
BOROUGHS = tuple(zip(LONDON_BOROUGH_CODES, BOROUGH_NAMES))
OUTSIDE_LONDON = (("E12000008", "South East"), ("E06000035", "Medway"), ("W06000015", "Cardiff"))
SUMMARY_ROWS = (("K02000001", "United Kingdom"), ("E92000001", "England"), (LONDON_CODE, "London"))
AREAS = SUMMARY_ROWS + BOROUGHS + OUTSIDE_LONDON

QUARTERS = tuple(pd.Timestamp(year, month, 1) for year in range(2019, 2026) for month in (1, 4, 7, 10)
                 if pd.Timestamp(2019, 10, 1) <= pd.Timestamp(year, month, 1) <= pd.Timestamp(2025, 10, 1))
SPEEDS = {"all": ("1a", "EVCD_01a"), "rapid": ("1b", "EVCD_01b")}

# (code, speed, "Mon-YY") -> the cell as written, and what the reader should make of it.
CELLS = {
    ("E09000007", "rapid", "Oct-19"): ("[x]", None),
    ("E09000001", "all", "Jan-20"): ("..", None),
    ("E09000002", "rapid", "Apr-20"): ("-", None),
    ("E09000003", "rapid", "Jul-20"): (None, None),  # blank
    ("E09000033", "all", "Oct-25"): ("3,456", 3456),
    ("E09000030", "all", "Jul-25"): ("812", 812),
}
MISSING = {key for key, (_cell, value) in CELLS.items() if value is None}


def label(quarter) -> str:
    return f"{pd.Timestamp(quarter):%b-%y}"


def devices(code: str, speed: str, quarter) -> int:
    """The count the fixture holds for an authority (what a missing cell would have been)."""
    codes = [area_code for area_code, _name in BOROUGHS + OUTSIDE_LONDON]
    step = QUARTERS.index(pd.Timestamp(quarter))
    base = 20 + 7 * (codes.index(code) if code in codes else -1) + 3 * step
    return base if speed == "all" else base // 5


def expected(code: str, speed: str, quarter):
    """What the reader should give for a cell: None where the fixture marks it missing."""
    key = (code, speed, label(quarter))
    if key in CELLS:
        return CELLS[key][1]
    if code == LONDON_CODE:
        return sum(devices(borough, speed, quarter) for borough, _name in BOROUGHS)
    if code in ("K02000001", "E92000001"):
        return 10 * sum(devices(borough, speed, quarter) for borough, _name in BOROUGHS)
    return devices(code, speed, quarter)


def _cell(code, speed, quarter):
    key = (code, speed, label(quarter))
    return CELLS[key][0] if key in CELLS else expected(code, speed, quarter)


def sheet_grid(speed, *, extra_notes=False, suffix_headers=False, date_headers=False, header_variant=False, rate_columns=False, areas=AREAS) -> list:
    """One sheet as rows of cells."""
    width = 2 + len(QUARTERS)
    pad = [None] * (width - 1)
    title = "Table 1a: Public electric vehicle charging devices at all speeds" if speed == "all" else "Table 1b: Public electric vehicle charging devices rated 50kW and above"
    notes = [[f"{title} by local authority, United Kingdom, October 2019 to October 2025 [note 1]"] + pad,
             ["This worksheet contains one table. Some cells refer to notes which can be found on the notes worksheet."] + pad]
    if extra_notes:
        notes.append(["Figures for October 2025 are provisional and will be revised [note 4]"] + pad)
    headers = []
    for step, quarter in enumerate(QUARTERS):
        if date_headers:
            headers.append(datetime(quarter.year, quarter.month, 1))
        elif suffix_headers and speed == "rapid" and step < 4:
            headers.append(f"{label(quarter)}\n(25kW and above)")
        else:
            headers.append(label(quarter))
    code_header, name_header = ("LOCAL AUTHORITY / REGION CODE [note 2] ", " Local Authority /  Region Name") if header_variant \
        else ("Local authority / region code", "Local authority / region name")
    header = [code_header, name_header] + headers
    body = [[code, name] + [_cell(code, speed, quarter) for quarter in QUARTERS] for code, name in areas]
    if rate_columns:
        header += [f"{label(QUARTERS[-1])}\n(per 100,000 population)"]
        body = [row + [123.4] for row in body]
        notes = [row + [None] for row in notes]
    trailing = [[None] * len(header), ["Source: DfT and Zapmap"] + [None] * (len(header) - 1),
                ["[x] = not available"] + [None] * (len(header) - 1)]
    return notes + [header] + body + trailing


def write_dft_workbook(path, *, old_names=False, with_rapid=True, extra_sheets=True, **layout) -> Path:
    """Write a DfT-style workbook; the suffix of ``path`` (.xlsx or .ods) chooses the format."""
    path = Path(path)
    engine = "odf" if path.suffix == ".ods" else "openpyxl"
    sheets = {}
    if extra_sheets:
        sheets["Cover"] = [["Electric vehicle public charging infrastructure statistics: October 2025"]]
        sheets["Notes"] = [["Note number", "Note text"], ["note 1", "Devices are counted at the end of each quarter."]]
    for speed, (name, old_name) in SPEEDS.items():
        if speed == "rapid" and not with_rapid:
            continue
        sheets[old_name if old_names else name] = sheet_grid(speed, **layout)
    if extra_sheets:
        sheets["2a"] = [["Table 2a: devices per 100,000 population"], ["Local authority / region code", "Local authority / region name", "Oct-25"],
                        ["E09000007", "Camden", 150.2]]
    with pd.ExcelWriter(path, engine=engine) as writer:
        for name, rows in sheets.items():
            pd.DataFrame(rows, dtype=object).to_excel(writer, sheet_name=name, header=False, index=False)
    return path
