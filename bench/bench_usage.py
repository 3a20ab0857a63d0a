"""Benchmark: session CSVs into usage per charge point per quarter, and the metrics from the archive.

Target (from the issue): importing 1,000,000 session rows from CSV into usage
per charge point per quarter takes at most 1.5x as long as a bare
``pandas.read_csv`` of the same file, measured in the same run.

A. headline: exactly the pipeline ``import_usage`` runs for a session CSV, minus
   the archive write: ``importer.usage_from_session_csv`` (read in chunks, each
   checked, unknown charge points rejected, summed by quarter) and
   ``importer.complete_usage`` (hours available, impossible rows). Baseline:
   ``pandas.read_csv(path)`` of the same file, defaults only.
B. context: the whole ``import_usage`` into a fresh archive GeoPackage, the
   25,000 charge points registered in the same transaction.
C. with ``--big`` (or EVCHARGE_BENCH_BIG=1): peak RSS of a child process running
   the headline pipeline on 10,000,000 rows, next to a child that only runs
   ``pandas.read_csv`` of the same file. Off by default: generating the file and
   running both children takes a few minutes.
D. the metrics for 25,000 charge points over 8 quarters from the archive B wrote:
   ``Archive.usage()``, ``utilisation()`` for the last quarter and
   ``utilisation_by_period()`` over all 8, beside a plain pandas groupby-sum of
   the same usage frame by charge point.

The session file is generated once, seeded: 25,000 charge point ids
(DEMO-000001...), sessions over 2024 and 2025 (8 quarters), times in ISO 8601
UTC ("2024-06-21T17:07:58Z"), about 1% of them crossing a quarter boundary.
Each timing is the median of REPEATS runs after a warm-up, baseline and pipeline
taking turns; ratios are printed, no time is asserted. The pipeline's result is
checked: every session counted, and the energy adds up to the file's.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POINTS = 25_000
ROWS = 1_000_000
BIG_ROWS = 10_000_000
GENERATE_CHUNK = 1_000_000
REPEATS = 5
IMPORT_REPEATS = 3
METRIC_REPEATS = 5
TARGET_RATIO = 1.5
CROSSING_SHARE = 0.01
SEED = 2024
FIRST_QUARTER, END = "2024-01-01", "2026-01-01"  # 8 quarters, London dates, end exclusive


def chargepoint_ids() -> np.ndarray:
    return np.array([f"DEMO-{i:06d}" for i in range(1, POINTS + 1)], dtype=object)


def known_chargepoints() -> pd.DataFrame:
    """``connectors`` and ``power_kw`` by charge point id, as the importer's ``_known_chargepoints`` gives them."""
    rng = np.random.default_rng(SEED + 1)
    return pd.DataFrame({
        "connectors": pd.array(rng.integers(1, 3, POINTS), dtype="Int64"),
        "power_kw": rng.choice([3.6, 5.5, 7.0, 22.0, 50.0, 150.0], size=POINTS, p=[0.2, 0.3, 0.35, 0.08, 0.05, 0.02]),
    }, index=pd.Index(chargepoint_ids(), name="chargepoint_id"))


def make_chargepoints_csv(path: Path) -> None:
    """The same charge points in the plugin's CSV standard, for the readers to turn into a canonical frame."""
    from ev_charge_plugin.core import schema

    known = known_chargepoints()
    rng = np.random.default_rng(SEED + 2)
    frame = pd.DataFrame({
        "chargepoint_id": known.index,
        "name": [f"Bench site {i}" for i in range(1, POINTS + 1)],
        "operator": rng.choice(["Alpha", "Beta", "Gamma", "Delta"], size=POINTS),
        "latitude": np.round(rng.uniform(51.30, 51.68, POINTS), 6),
        "longitude": np.round(rng.uniform(-0.50, 0.30, POINTS), 6),
        "power_kw": known["power_kw"].to_numpy(),
        "connectors": known["connectors"].to_numpy(),
        "connector_types": "Type 2",
        "status": "AVAILABLE",
        "on_street": np.where(known["power_kw"].to_numpy() < 8, "yes", "no"),
        "scheme": "bench",
    }).reindex(columns=schema.STANDARD_CSV_COLUMNS)
    frame.to_csv(path, index=False)


def make_sessions(path: Path, rows: int) -> dict:
    """Write ``rows`` seeded sessions in chunks; return the totals the pipeline must reproduce."""
    from ev_charge_plugin.core.usage import london_midnight_utc

    rng = np.random.default_rng(SEED)
    ids = chargepoint_ids()
    quarters = pd.date_range(FIRST_QUARTER, END, freq="3MS")
    bounds = london_midnight_utc(quarters).asi8 // 10**9  # UTC seconds of each quarter's start, and the end
    inner = bounds[1:-1]
    energy_total, crossing, written = 0.0, 0, 0
    with open(path, "w", newline="") as handle:
        while written < rows:
            n = min(GENERATE_CHUNK, rows - written)
            duration = np.clip(rng.lognormal(np.log(2.5 * 3600), 0.8, n), 300, 36 * 3600).astype(np.int64)
            start = rng.integers(bounds[0], bounds[-1] - 36 * 3600, n)
            # About 1% start shortly before a quarter boundary and run over it.
            cross = rng.random(n) < CROSSING_SHARE
            boundary = rng.choice(inner, size=n)
            start = np.where(cross, boundary - (duration * rng.uniform(0.05, 0.95, n)).astype(np.int64), start)
            end = start + duration
            crossing += int((np.searchsorted(bounds, start, "right") != np.searchsorted(bounds, end, "left")).sum())
            hours = duration / 3600.0
            charging = np.floor(hours * rng.uniform(0.3, 1.0, n) * 100) / 100
            energy = np.round(charging * rng.uniform(3.0, 7.0, n), 3)
            frame = pd.DataFrame({
                "session_id": "S" + pd.Series(np.arange(written + 1, written + n + 1)).astype(str).str.zfill(9),
                "chargepoint_id": ids[rng.integers(0, POINTS, n)],
                "start": np.datetime_as_string(start.astype("datetime64[s]"), unit="s", timezone="UTC"),
                "end": np.datetime_as_string(end.astype("datetime64[s]"), unit="s", timezone="UTC"),
                "energy_kwh": energy,
                "charging_hours": charging,
            })
            frame.to_csv(handle, index=False, header=written == 0)
            energy_total += float(np.sum(energy))
            written += n
    return {"rows": rows, "energy_kwh": energy_total, "crossing": crossing}


def pipeline(path, known: pd.DataFrame):
    """What ``importer.import_usage`` does to a session CSV before it writes the archive."""
    from ev_charge_plugin.core.importer import complete_usage, usage_from_session_csv
    from ev_charge_plugin.core.report import ValidationReport

    report = ValidationReport(source=Path(path).name)
    usage = usage_from_session_csv(path, known.index, report)
    return complete_usage(usage, known["connectors"], report), report


def baseline(path):
    return pd.read_csv(path)


def check_result(usage: pd.DataFrame, report, totals: dict) -> None:
    assert int(usage["sessions"].sum()) == totals["rows"], (int(usage["sessions"].sum()), totals["rows"])
    energy = float(usage["energy_kwh"].sum())
    assert abs(energy - totals["energy_kwh"]) <= 1e-6 * totals["energy_kwh"], (energy, totals["energy_kwh"])
    assert not report.problems, report.problems[:5]
    assert usage["period_start"].nunique() == 8, sorted(usage["period_start"].unique())


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def alternate(functions: dict, repeats: int) -> dict:
    """Run each function once to warm up, then take turns ``repeats`` times; return the samples."""
    for function in functions.values():
        function()
    samples = {key: [] for key in functions}
    for _ in range(repeats):
        for key, function in functions.items():
            seconds, result = timed(function)
            samples[key].append(seconds)
            del result
    return samples


def spread(values) -> str:
    return f"(min {min(values):.2f}, max {max(values):.2f})"


# -- C: children that report their own peak memory ---------------------------------

def child(kind: str, path: str) -> int:
    start = time.perf_counter()
    if kind == "pipeline":
        usage, _report = pipeline(path, known_chargepoints())
        rows = int(usage["sessions"].sum())
    elif kind == "idle":
        from ev_charge_plugin.core.readers import sessions_csv  # noqa: F401 - what the pipeline imports, nothing read
        rows = 0
    else:
        rows = len(baseline(path))
    seconds = time.perf_counter() - start
    # Both in KiB. ru_maxrss survives fork and exec on Linux, so a child started by a
    # big parent reports at least the parent's peak; VmHWM belongs to this process's
    # own address space, made new by exec, and is the figure printed.
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(f"{rows} {seconds:.3f} {hwm} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
    return 0


def run_child(kind: str, path: Path) -> tuple:
    result = subprocess.run(["/usr/bin/python3", str(Path(__file__).resolve()), "--child", kind, str(path)],
                            check=True, capture_output=True, text=True)
    rows, seconds, hwm, maxrss = result.stdout.split()[-4:]
    return int(rows), float(seconds), int(hwm), int(maxrss)


def big(folder: Path) -> None:
    path = folder / "sessions_10m.csv"
    try:
        seconds, totals = timed(make_sessions, path, BIG_ROWS)
        print(f"C. Peak memory, {BIG_ROWS:,} session rows ({path.stat().st_size / 2**20:,.0f} MiB, generated in {seconds:.0f} s), one child process each")
        idle = run_child("idle", path)
        read = run_child("read_csv", path)
        piped = run_child("pipeline", path)
        assert piped[0] == totals["rows"], (piped[0], totals["rows"])
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"  peak RSS (VmHWM of the child; ru_maxrss in brackets, which Linux carries over from this {parent / 2**20:.2f} GiB parent)")
        print(f"  python + imports only     peak RSS {idle[2] / 2**20:6.2f} GiB ({idle[3] / 2**20:.2f})")
        print(f"  baseline pandas.read_csv  peak RSS {read[2] / 2**20:6.2f} GiB ({read[3] / 2**20:.2f})  in {read[1]:6.1f} s")
        print(f"  pipeline                  peak RSS {piped[2] / 2**20:6.2f} GiB ({piped[3] / 2**20:.2f})  in {piped[1]:6.1f} s")
        print(f"  pipeline / read_csv: peak RSS {piped[2] / read[2]:.2f}x, time {piped[1] / read[1]:.2f}x (one run each)")
    finally:
        path.unlink(missing_ok=True)


def main(args) -> int:
    from ev_charge_plugin.core import importer, utilisation as metrics
    from ev_charge_plugin.core.archive import Archive
    from ev_charge_plugin.core.readers.standard_csv import read_standard_csv

    known = known_chargepoints()
    with tempfile.TemporaryDirectory(prefix="bench_usage_") as name:
        folder = Path(name)
        sessions = folder / "sessions.csv"
        seconds, totals = timed(make_sessions, sessions, ROWS)
        print(f"Session file: {ROWS:,} rows, {POINTS:,} charge points, 8 quarters, {totals['crossing'] / ROWS:.2%} crossing a quarter boundary, "
              f"{sessions.stat().st_size / 2**20:.0f} MiB (generated in {seconds:.1f} s)")

        # A. the headline.
        usage, report = pipeline(sessions, known)
        check_result(usage, report, totals)
        samples = alternate({"baseline": lambda: baseline(sessions), "pipeline": lambda: pipeline(sessions, known)}, REPEATS)
        median = {key: statistics.median(values) for key, values in samples.items()}
        ratio = median["pipeline"] / median["baseline"]
        print(f"A. Sessions CSV -> usage per charge point per quarter (median of {REPEATS} runs after a warm-up, taking turns)")
        print(f"  baseline  {median['baseline']:7.2f} s {spread(samples['baseline'])}  pandas.read_csv of the same file")
        print(f"  pipeline  {median['pipeline']:7.2f} s {spread(samples['pipeline'])}  usage_from_session_csv + complete_usage "
              f"-> {len(usage):,} usage rows")
        print(f"  checked: {int(usage['sessions'].sum()):,} sessions, {usage['energy_kwh'].sum():,.3f} kWh = the file's {totals['energy_kwh']:,.3f} kWh")

        # B. the whole import into a fresh archive, charge points registered in the same transaction.
        points_csv = folder / "chargepoints.csv"
        make_chargepoints_csv(points_csv)
        read = read_standard_csv(points_csv)
        assert read.loaded == POINTS and not read.report.problems, (read.loaded, read.report.problems[:5])
        chargepoints = read.chargepoints
        archives = iter(range(1000))

        def full_import():
            result = importer.import_usage(folder / f"archive_{next(archives)}.gpkg", sessions, chargepoints=chargepoints,
                                           chargepoints_path=points_csv)
            assert result.summary.chargepoints_registered == POINTS and result.summary.imported == len(usage), result.summary
            return result

        import_samples = alternate({"baseline": lambda: baseline(sessions), "import": full_import}, IMPORT_REPEATS)
        import_median = statistics.median(import_samples["import"])
        import_base = statistics.median(import_samples["baseline"])
        print(f"B. import_usage into a fresh archive GeoPackage, registering {POINTS:,} charge points (median of {IMPORT_REPEATS} runs)")
        print(f"  import    {import_median:7.2f} s {spread(import_samples['import'])}  = {import_median / import_base:.2f}x pandas.read_csv "
              f"({import_base:.2f} s in these runs); of which the archive write about {import_median - median['pipeline']:.2f} s")

        # D. the metrics, from the last archive B wrote.
        archive_path = sorted(folder.glob("archive_*.gpkg"), key=lambda p: p.stat().st_mtime)[-1]
        with Archive(archive_path) as archive:
            points = archive.chargepoints()
            frame = archive.usage()
            periods = archive.periods()
            last = periods.iloc[-1]
            assert len(periods) == 8 and len(frame) == len(usage), (len(periods), len(frame))
            steps = {
                "chargepoints": ("Archive.chargepoints() (geometry built; read once per view)", archive.chargepoints),
                "usage": ("Archive.usage(), every row", archive.usage),
                "last": (f"utilisation() for the last quarter ({last.period_start:%Y-%m-%d} to {last.period_end:%Y-%m-%d})",
                         lambda: metrics.utilisation(frame, points, last.period_start, last.period_end)),
                "by_period": ("utilisation_by_period() over all 8 quarters",
                              lambda: metrics.utilisation_by_period(frame, points)),
                "groupby": ("baseline: usage.groupby('chargepoint_id')[sums].sum()",
                            lambda: frame.groupby("chargepoint_id", sort=True, observed=True)[
                                ["sessions", "energy_kwh", "occupied_hours", "charging_hours", "available_hours"]].sum()),
            }
            metric_samples = alternate({key: function for key, (_label, function) in steps.items()}, METRIC_REPEATS)
        last_rows = metrics.utilisation(frame, points, last.period_start, last.period_end)
        assert len(last_rows) == POINTS, len(last_rows)
        metric_median = {key: statistics.median(values) for key, values in metric_samples.items()}
        print(f"D. Metrics for {POINTS:,} charge points over 8 quarters ({len(frame):,} usage rows) from the archive (median of {METRIC_REPEATS} runs)")
        for key, (label, _function) in steps.items():
            print(f"  {key:12s} {metric_median[key] * 1000:8.1f} ms  {label}")
        groupby = metric_median["groupby"]
        print(f"  Archive.usage() + utilisation(last quarter) {(metric_median['usage'] + metric_median['last']) * 1000:.1f} ms; "
              f"utilisation(last quarter) = {metric_median['last'] / groupby:.1f}x, utilisation_by_period = {metric_median['by_period'] / groupby:.1f}x the groupby")

        if args.big:
            big(folder)
        else:
            print(f"C. Peak memory for {BIG_ROWS:,} rows: skipped (a few minutes); run with --big or EVCHARGE_BENCH_BIG=1")

    print(f"headline ratio {ratio:.2f}x, target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", default=os.environ.get("EVCHARGE_BENCH_BIG", "") not in ("", "0"),
                        help=f"also measure peak memory on {BIG_ROWS:,} rows (C)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        sys.exit(child(*arguments.child))
    sys.exit(main(arguments))
