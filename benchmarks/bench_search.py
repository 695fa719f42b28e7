"""Search benchmarks: parallel grid search, and strategies at equal budget.

``--mode parallel`` (the default): n_jobs=1 against n_jobs=2, skdeep and
scikeras. A grid of 8 candidates x 3 folds (24 fits) on digits, each network one hidden
layer, 10 epochs, batch 32. Every configuration runs in a fresh process and
times two searches there:

- cold: the first search of the process; its time includes importing the
  backend (in the parent for n_jobs=1, in each worker for n_jobs=2) and
  starting the workers.
- warm: a second search in the same process with another ``random_state``
  (as when a search is rerun in a notebook): joblib reuses its workers.

Prints wall times and speedups.

``--mode strategies``: ``skdeep.tune`` with grid, random, halving, bayes, and
bayes with the median and the halving pruner, on digits and breast cancer
(standardised), at the same budget:
``--n-iter`` candidates (the grid has 12: 3 layer sizes x 4 learning rates;
random, halving and bayes draw the learning rate log-uniformly from the same
range), 3 folds, up to ``--strategy-epochs`` epochs with early stopping
(patience 10, batch 32), n_jobs=1. Each search runs in a fresh
process after one warm-up fit, so TensorFlow's start-up is not timed. Prints
wall time, best CV accuracy and, for bayes, candidates pruned.

``--mode threads`` (issue 27): the search of the README's sentence on
plain scikit-learn searches in threads,
``GridSearchCV(MLPClassifier(epochs=40, early_stopping=False, random_state=0),
{"hidden_layer_sizes": [(16,), (32,), (64,), (32, 16)]}, cv=3)`` on
``make_classification(3000, 30)``, n_jobs=1 against n_jobs=2, each
configuration in a fresh process (Keras imported before the clock starts):

- first threaded search: one n_jobs=1 search first traces every
  architecture, then the timed search runs inside
  ``joblib.parallel_config(backend="threading")``: the first parallel
  search of the process (goal: n_jobs=2 >= 1.7x n_jobs=1).
- cold tune: ``skdeep.tune`` of the same grid in a process that traced
  nothing (goal: n_jobs=2 >= 1.5x n_jobs=1).
- cold tune, 24,000 rows: the same on ``make_classification(24000, 30)``,
  fits of over a second each (the issue's "any search whose fits take
  over a second"; goal: n_jobs=2 >= 1.5x n_jobs=1).
- cold GridSearchCV on loky: the same grid on joblib's default backend, whose
  worker processes each import TensorFlow and trace their networks (the
  README's figure for it; the traces shown are the parent's only).

Prints wall times, speedups, the training loops traced during the timed
search (``cache_info()["trainer_traces"]``), the machine's load average,
and whether the CV scores are identical for every n_jobs. About 2.5 min on 2 idle
cores.

    python benchmarks/bench_search.py [--epochs 10]
    python benchmarks/bench_search.py --mode strategies [--n-iter 12]
    python benchmarks/bench_search.py --mode threads [--repeat 1] [--cases ...]
"""

import argparse
import json
import os
import subprocess
import sys
import time

_RUN = r"""
import json, os, sys, time, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
warnings.filterwarnings("ignore")
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
lib, n_jobs, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
if lib == "skdeep":
    from skdeep import MLPClassifier
    est = MLPClassifier(epochs=epochs, early_stopping=False, tol=0.0,
                        patience=epochs, random_state=0)
    grid = {"hidden_layer_sizes": [(32,), (64,)], "learning_rate": [1e-3, 1e-2],
            "batch_size": [32, 64]}
else:
    import keras
    from scikeras.wrappers import KerasClassifier
    from bench_search_nets import scikeras_net
    est = KerasClassifier(scikeras_net, loss="sparse_categorical_crossentropy",
                          optimizer="adam", epochs=epochs, verbose=0, random_state=0,
                          model__hidden=32)
    grid = {"model__hidden": [32, 64], "optimizer__learning_rate": [1e-3, 1e-2],
            "batch_size": [32, 64]}
times = []
for seed in (0, 1):
    est.set_params(random_state=seed)
    start = time.perf_counter()
    GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    times.append(time.perf_counter() - start)
print(json.dumps({"cold": times[0], "warm": times[1]}))
"""


_STRATEGY_RUN = r"""
import json, os, sys, time, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
warnings.filterwarnings("ignore")
import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler
from skdeep import MLPClassifier, tune
data, strategy, n_iter, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
load = load_digits if data == "digits" else load_breast_cancer
X, y = load(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)
est = MLPClassifier(epochs=epochs, random_state=0)  # batch 32, patience 10
MLPClassifier(hidden_layer_sizes=(8,), epochs=1).fit(X[:100], y[:100])  # warm-up
sizes = [(32,), (64,), (64, 32)]
if strategy == "grid":
    space = {"hidden_layer_sizes": sizes,
             "learning_rate": [1e-3, 3e-3, 1e-2, 3e-2]}
else:
    space = {"hidden_layer_sizes": sizes, "learning_rate": loguniform(1e-3, 3e-2)}
pruner = None
if strategy.startswith("bayes+"):
    strategy, pruner = strategy.split("+")
start = time.perf_counter()
search = tune(est, X, y, space=space, strategy=strategy, n_iter=n_iter, cv=3,
              random_state=0, verbose=0, pruner=pruner)
elapsed = time.perf_counter() - start
print(json.dumps({"time": elapsed, "score": float(search.best_score_),
                  "candidates": int(getattr(search, "n_candidates_",
                                            [len(search.cv_results_["params"])])[0]),
                  "pruned": int(np.sum(search.cv_results_.get("pruned", 0)))}))
"""

_THREADS_RUN = r"""
import json, os, sys, time, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
warnings.filterwarnings("ignore")
import joblib
import keras  # imported before the clock: the same for every n_jobs
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from skdeep import MLPClassifier, cache_info, tune
case, n_jobs = sys.argv[1], int(sys.argv[2])
# the long case: fits of over a second (16,000 training rows a fold)
X, y = make_classification(24000 if case == "cold-tune-long" else 3000, 30,
                           random_state=0)
X = X.astype(np.float32)
est = MLPClassifier(epochs=40, early_stopping=False, random_state=0)
grid = {"hidden_layer_sizes": [(16,), (32,), (64,), (32, 16)]}
if case == "first-threaded":
    GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)  # traces every network
    traced = cache_info()["trainer_traces"]
    start = time.perf_counter()
    with joblib.parallel_config(backend="threading"):
        search = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
elif case.startswith("cold-tune"):  # nothing traced in this process
    traced = 0
    start = time.perf_counter()
    search = tune(est, X, y, space=grid, strategy="grid", cv=3, n_jobs=n_jobs,
                  random_state=0, verbose=0)
else:  # cold-loky: joblib's default backend, worker processes
    traced = 0
    start = time.perf_counter()
    search = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
elapsed = time.perf_counter() - start
traces = cache_info().get("trainer_traces")  # None before skdeep counted them
print(json.dumps({"time": elapsed, "traces": traces and traces - traced,
                  "scores": search.cv_results_["mean_test_score"].tolist()}))
"""

THREAD_CASES = {"first-threaded": ("first threaded GridSearchCV", 1.7),
                "cold-tune": ("cold tune", 1.5),
                "cold-tune-long": ("cold tune, 24,000 rows", 1.5),
                "cold-loky": ("cold GridSearchCV on loky", None)}


def compare_threads(repeat=1, cases=tuple(THREAD_CASES)):
    """Run each (case, n_jobs) ``repeat`` times in fresh processes,
    interleaved; print the median times and speedups against the goals."""
    import statistics

    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH")) if p)}
    runs, loads = {}, []
    for _ in range(repeat):
        for case in cases:
            for n_jobs in (1, 2):
                out = subprocess.run(
                    [sys.executable, "-c", _THREADS_RUN, case, str(n_jobs)],
                    capture_output=True, text=True, cwd=here, check=True, env=env)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                runs.setdefault((case, n_jobs), []).append(row)
                loads.append(os.getloadavg()[0])
                print(f"  {case} n_jobs={n_jobs}: {row['time']:.1f} s, "
                      f"{row['traces']} training loops traced",
                      file=sys.stderr, flush=True)
    times = {key: statistics.median(r["time"] for r in rows)
             for key, rows in runs.items()}
    scores = {tuple(r["scores"]) for (case, _), rows in runs.items() for r in rows
              if case != "cold-tune-long"} or {()}
    long_scores = {tuple(r["scores"]) for (case, _), rows in runs.items()
                   for r in rows if case == "cold-tune-long"}
    print(f"\nGridSearchCV(MLPClassifier(epochs=40)), 4 architectures x 3 folds, "
          f"make_classification(3000, 30), threads, {os.cpu_count()} cores, "
          f"median of {repeat}, load average {min(loads):.1f}-{max(loads):.1f} "
          f"({time.strftime('%Y-%m-%d %H:%M')})")
    print(f"{'':30}{'n_jobs=1 s':>11}{'n_jobs=2 s':>11}{'speedup':>9}{'goal':>7}"
          f"{'traces (1/2)':>14}")
    for case in cases:
        label, goal = THREAD_CASES[case]
        one, two = times[case, 1], times[case, 2]
        traces = "/".join(str(runs[case, n][0]["traces"]) for n in (1, 2))
        goal = f"{goal:6.1f}x" if goal else " " * 7
        print(f"{label:30}{one:11.1f}{two:11.1f}{one / two:8.2f}x{goal}{traces:>14}")
    print(f"CV scores identical for every n_jobs and run: {len(scores) == 1} "
          f"{[round(v, 4) for v in sorted(scores)[0]]}; 24,000 rows: "
          f"{len(long_scores) == 1}")
    return times, scores


STRATEGIES = ("grid", "random", "halving", "bayes", "bayes+median", "bayes+halving")


def compare_strategies(n_iter, epochs, datasets, strategies=STRATEGIES, repeat=1):
    """Run every (dataset, strategy) ``repeat`` times, interleaved; print medians.

    Interleaving spreads a shared machine's load changes over all strategies.
    """
    import statistics

    runs = {}
    for _ in range(repeat):
        for data in datasets:
            for strategy in strategies:
                out = subprocess.run(
                    [sys.executable, "-c", _STRATEGY_RUN, data, strategy,
                     str(n_iter), str(epochs)],
                    capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                runs.setdefault((data, strategy), []).append(row)
                print(f"  {data} {strategy}: {row}", file=sys.stderr, flush=True)
    rows = {key: {**values[0],
                  "time": statistics.median(r["time"] for r in values)}
            for key, values in runs.items()}
    print(f"\nskdeep.tune, {n_iter} candidates x 3 folds, up to {epochs} epochs "
          f"(early stopping), n_jobs=1, {os.cpu_count()} cores, median of "
          f"{repeat} ({time.strftime('%Y-%m-%d %H:%M')})")
    print(f"{'dataset':10}{'strategy':14}{'time s':>8}{'best CV acc':>13}"
          f"{'pruned':>8}{'time vs bayes':>15}")
    for data in datasets:
        base = rows.get((data, "bayes"), next(iter(rows.values())))["time"]
        for strategy in strategies:
            row = rows[data, strategy]
            pruned = str(row["pruned"]) if strategy.startswith("bayes") else ""
            print(f"{data:10}{strategy:14}{row['time']:8.1f}{row['score']:13.4f}"
                  f"{pruned:>8}{row['time'] / base:14.2f}x")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("parallel", "strategies", "threads"),
                        default="parallel")
    parser.add_argument("--epochs", type=int, default=10,
                        help="epochs per fit in --mode parallel")
    parser.add_argument("--n-iter", type=int, default=12,
                        help="candidates per search in --mode strategies")
    parser.add_argument("--strategy-epochs", type=int, default=60,
                        help="maximum epochs per fit in --mode strategies")
    parser.add_argument("--datasets", default="digits,cancer",
                        help="comma-separated, in --mode strategies")
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help="comma-separated, in --mode strategies")
    parser.add_argument("--cases", default=",".join(THREAD_CASES),
                        help="comma-separated, in --mode threads")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per search in --mode strategies or threads "
                        "(median time)")
    args = parser.parse_args(argv)
    if args.mode == "threads":
        compare_threads(args.repeat, args.cases.split(","))
        return
    if args.mode == "strategies":
        compare_strategies(args.n_iter, args.strategy_epochs,
                           args.datasets.split(","), args.strategies.split(","),
                           args.repeat)
        return
    here = os.path.dirname(os.path.abspath(__file__))
    libs = ["skdeep"]
    try:
        import scikeras  # noqa: F401

        libs.append("scikeras")
    except ImportError:
        print("scikeras not installed: skipped")
    times = {}
    for lib in libs:
        for n_jobs in (1, 2):
            out = subprocess.run(
                [sys.executable, "-c", _RUN, lib, str(n_jobs), str(args.epochs)],
                capture_output=True, text=True, cwd=here, check=True,
                env={**os.environ, "PYTHONPATH": here})
            times[lib, n_jobs] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nGridSearchCV, 8 candidates x 3 folds, digits, {args.epochs} epochs, "
          f"{os.cpu_count()} cores ({time.strftime('%Y-%m-%d %H:%M')})")
    print(f"{'':16}{'n_jobs=1 s':>12}{'n_jobs=2 s':>12}{'speedup':>9}")
    for lib in libs:
        for when in ("cold", "warm"):
            one, two = times[lib, 1][when], times[lib, 2][when]
            print(f"{lib + ' ' + when:16}{one:12.1f}{two:12.1f}{one / two:9.2f}x")


if __name__ == "__main__":
    main()
