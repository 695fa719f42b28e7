"""Parallel grid search: n_jobs=1 against n_jobs=2, skdeep and scikeras.

A grid of 8 candidates x 3 folds (24 fits) on digits, each network one hidden
layer, 10 epochs, batch 32. Every configuration runs in a fresh process so
that a warm worker pool or an already-traced model does not favour one.
Prints wall times and speedups.

    python benchmarks/bench_search.py [--epochs 10]
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
start = time.perf_counter()
GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
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
            times[lib, n_jobs] = json.loads(out.stdout.strip().splitlines()[-1])[
                "seconds"]
    print(f"\nGridSearchCV, 8 candidates x 3 folds, digits, {args.epochs} epochs, "
          f"{os.cpu_count()} cores ({time.strftime('%Y-%m-%d')})")
    print(f"{'':10}{'n_jobs=1 s':>12}{'n_jobs=2 s':>12}{'speedup':>9}")
    for lib in libs:
        one, two = times[lib, 1], times[lib, 2]
        print(f"{lib:10}{one:12.1f}{two:12.1f}{one / two:9.2f}x")


if __name__ == "__main__":
    main()
