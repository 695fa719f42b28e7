"""The script-style workflow of issue 12, whole process, next to scikit-learn.

Each measurement runs in a fresh Python process and times it from start to
exit (imports included), as a user running a script sees it:

    load breast cancer -> Pipeline([StandardScaler(), MLP]) -> GridSearchCV over
    hidden_layer_sizes x learning_rate (6 candidates x 5 stratified folds,
    batch 32, up to 200 epochs with early stopping, patience 10) -> predict

for scikit-learn's MLPClassifier and skdeep's on TensorFlow (and JAX when
installed), with n_jobs=1 and n_jobs=2. It also measures the per-epoch cost
(569 x 30, hidden (64,), batch 32, 100 epochs) with and without the
validation split, in one warm process per library.

    python benchmarks/bench_workflow.py [--repeats 3] [--quick]

``--early-stopping-metric loss score`` runs skdeep's workflow once per rule
(``early_stopping_metric``; any scikit-learn scorer name works too) and
prints their CV scores, wall times and the refitted network's epochs side by
side; ``--workflow-only`` skips the per-epoch part, ``--no-jax`` the JAX
backend.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKFLOW = r"""
import sys, time, json
t0 = time.perf_counter()
lib, n_jobs, metric = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
X, y = load_breast_cancer(return_X_y=True)
if lib == "sklearn":
    import warnings
    from sklearn.neural_network import MLPClassifier
    warnings.simplefilter("ignore")
    net = MLPClassifier(batch_size=32, max_iter=200, early_stopping=True,
                        validation_fraction=0.1, n_iter_no_change=10, random_state=0)
    grid = {"mlp__hidden_layer_sizes": [(32,), (64,), (64, 32)],
            "mlp__learning_rate_init": [1e-3, 3e-3]}
else:
    from skdeep import MLPClassifier
    net = MLPClassifier(batch_size=32, epochs=200, early_stopping=True,
                        validation_fraction=0.1, patience=10, random_state=0,
                        early_stopping_metric=metric)
    grid = {"mlp__hidden_layer_sizes": [(32,), (64,), (64, 32)],
            "mlp__learning_rate": [1e-3, 3e-3]}
pipe = Pipeline([("scale", StandardScaler()), ("mlp", net)])
cv = StratifiedKFold(5, shuffle=True, random_state=0)
search = GridSearchCV(pipe, grid, cv=cv, n_jobs=n_jobs).fit(X, y)
search.predict(X[:10])
print(json.dumps({"score": float(search.best_score_),
                  "epochs": int(search.best_estimator_[-1].n_iter_),
                  "seconds_in_process": time.perf_counter() - t0}))
"""

EPOCHS = r"""
import sys, time, json, warnings
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler
lib = sys.argv[1]
X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
warnings.simplefilter("ignore")
out = {}
for es in (True, False):
    if lib == "sklearn":
        from sklearn.neural_network import MLPClassifier
        make = lambda: MLPClassifier((64,), batch_size=32, max_iter=100,
                                     early_stopping=es, n_iter_no_change=1000,
                                     tol=0, random_state=0)
    else:
        from skdeep import MLPClassifier
        make = lambda: MLPClassifier((64,), batch_size=32, epochs=100,
                                     early_stopping=es, patience=1000, tol=0,
                                     random_state=0)
    make().fit(X, y)  # warm: imports, tracing
    times = []
    for _ in range(3):
        est = make()
        t = time.perf_counter()
        est.fit(X, y)
        times.append((time.perf_counter() - t) / est.n_iter_)
    out["with_validation" if es else "without_validation"] = min(times)
print(json.dumps(out))
"""


def _run(code, args, env_extra=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def _libraries(with_jax=True):
    libs = [("scikit-learn", "sklearn", {}), ("skdeep-tf", "skdeep",
                                              {"KERAS_BACKEND": "tensorflow"})]
    try:
        if not with_jax:
            raise ImportError
        import jax  # noqa: F401

        libs.append(("skdeep-jax", "skdeep", {"KERAS_BACKEND": "jax"}))
    except ImportError:
        pass
    return libs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="n_jobs=1 only, once")
    parser.add_argument("--early-stopping-metric", nargs="+", default=["loss"],
                        metavar="METRIC", help="skdeep's early_stopping_metric "
                        "(several: compared side by side, n_jobs=1)")
    parser.add_argument("--workflow-only", action="store_true",
                        help="skip the per-epoch measurement")
    parser.add_argument("--no-jax", action="store_true", help="skip skdeep-jax")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    libs = _libraries(with_jax=not args.no_jax)
    if len(args.early_stopping_metric) > 1:
        _compare_metrics(libs, args.early_stopping_metric, repeats)
        return
    metric = args.early_stopping_metric[0]
    if args.workflow_only:
        _workflow(libs, metric, repeats, (1,) if args.quick else (1, 2))
        return

    print("per-epoch time, 569 x 30, hidden (64,), batch 32 (warm process, best of 3)")
    epoch = {}
    for name, lib, env in libs:
        epoch[name] = _run(EPOCHS, [lib], env)[1]
    base = epoch["scikit-learn"]
    for name, result in epoch.items():
        print(f"  {name:14s} with validation {1000 * result['with_validation']:6.2f} ms"
              f" ({result['with_validation'] / base['with_validation']:.2f}x)   "
              f"without {1000 * result['without_validation']:6.2f} ms "
              f"({result['without_validation'] / base['without_validation']:.2f}x)")

    _workflow(libs, metric, repeats, (1,) if args.quick else (1, 2))


def _compare_metrics(libs, metrics, repeats):
    """skdeep's workflow (n_jobs=1) once per early-stopping rule."""
    print("workflow: GridSearchCV 6 candidates x 5 folds + refit + predict, "
          f"n_jobs=1, whole process, median of {repeats} (all runs listed)")
    for name, lib, env in libs:
        metric_names = ["-"] if lib == "sklearn" else metrics
        for metric in metric_names:
            runs = [_run(WORKFLOW, [lib, 1, metric], env) for _ in range(repeats)]
            walls = [r[0] for r in runs]
            scores = [r[1]["score"] for r in runs]
            print(f"  {name:14s} {metric:10s} CV {statistics.median(scores):.4f}  "
                  f"{statistics.median(walls):6.1f} s  refit epochs "
                  f"{runs[0][1]['epochs']:3d}   runs: "
                  + ", ".join(f"{w:.1f} s" for w in walls))


def _workflow(libs, metric, repeats, jobs):
    print("\nworkflow: GridSearchCV 6 candidates x 5 folds + refit + predict, "
          f"whole process, median of {repeats}")
    results = {}
    for n_jobs in jobs:
        for name, lib, env in libs:
            runs = [_run(WORKFLOW, [lib, n_jobs, metric], env)
                    for _ in range(repeats)]
            wall = statistics.median(r[0] for r in runs)
            results[name, n_jobs] = (wall, runs[0][1]["score"])
    for n_jobs in jobs:
        sk = results["scikit-learn", n_jobs][0]
        for name, _, _ in libs:
            wall, score = results[name, n_jobs]
            print(f"  n_jobs={n_jobs} {name:14s} {wall:6.1f} s  {wall / sk:5.2f}x "
                  f"scikit-learn   CV {score:.4f}")
    if 2 in jobs:
        print("\nparallel speed-up (n_jobs=1 time / n_jobs=2 time, cold process):")
        for name, _, _ in libs:
            print(f"  {name:14s} {results[name, 1][0] / results[name, 2][0]:.2f}x")


if __name__ == "__main__":
    main()
