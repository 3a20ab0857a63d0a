"""The baseline for bench_siting.py: PySAL spopt's MCLP on an instance saved as .npz, build plus solve.

Runs in its own virtual environment (build/bench-venv, with spopt, PuLP and
highspy from PyPI), never in the interpreter QGIS uses; bench_siting.py starts it::

    build/bench-venv/bin/python bench/spopt_mclp.py INSTANCE.npz [--solver highs|cbc]

The .npz holds ``demand_xy``, ``weight``, ``candidate_xy``, ``radius`` and ``k``.
The model is what spopt's documentation builds: the cost matrix of straight-line
distances (``scipy.spatial.distance.cdist``, what ``MCLP.from_geodataframe``
computes for points), then ``MCLP.from_cost_matrix`` and ``solve``. Each stage
prints one line as it ends (``stage NAME SECONDS``), so that a parent that gives up
can say how far it got; the last line is JSON with the times and the objective.
"""
import argparse
import json
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("instance")
    parser.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    args = parser.parse_args()

    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    data = np.load(args.instance)
    demand_xy, weight, candidate_xy = data["demand_xy"], data["weight"], data["candidate_xy"]
    radius, k = float(data["radius"]), int(data["k"])
    started = time.perf_counter()

    def stage(name):
        print(f"stage {name} {time.perf_counter() - started:.3f}", flush=True)

    cost = cdist(demand_xy, candidate_xy)
    stage("cost-matrix")
    model = MCLP.from_cost_matrix(cost, weight, service_radius=radius, p_facilities=k)
    built = time.perf_counter() - started
    stage("build")
    solver = pulp.HiGHS(msg=False, gapRel=0) if args.solver == "highs" else pulp.PULP_CBC_CMD(msg=False, gapRel=0)
    model.solve(solver)
    total = time.perf_counter() - started
    stage("solve")
    chosen = [int(i) for i, variable in enumerate(model.fac_vars) if variable.value() is not None and variable.value() > 0.5]
    covered = np.zeros(len(demand_xy), dtype=bool)
    if chosen:
        covered = (cost[:, chosen] <= radius).any(axis=1)
    print(json.dumps({
        "build_s": built, "solve_s": total - built, "total_s": total,
        "objective": float(pulp.value(model.problem.objective)), "covered": float(weight[covered].sum()),
        "status": pulp.LpStatus[model.problem.status], "chosen": chosen,
        "solver": args.solver, "versions": versions(),
    }), flush=True)
    return 0


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("spopt", "pulp", "highspy", "numpy", "scipy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


if __name__ == "__main__":
    sys.exit(main())
