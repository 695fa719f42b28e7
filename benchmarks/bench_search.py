"""Parallel grid search: n_jobs=1 against n_jobs=2, skdeep and scikeras.

A grid of 8 candidates x 3 folds (24 fits) on digits, each network one hidden
layer, 10 epochs, batch 32. Every configuration runs in a fresh process and
times two searches there:

- cold: the first search of the process; its time includes importing the
  backend (in the parent for n_jobs=1, in each worker for n_jobs=2) and
  starting the workers.
- warm: a second search in the same process with another ``random_state``
  (as when a search is rerun in a notebook): joblib reuses its workers.

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
times = []
for seed in (0, 1):
    est.set_params(random_state=seed)
    start = time.perf_counter()
    GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    times.append(time.perf_counter() - start)
print(json.dumps({"cold": times[0], "warm": times[1]}))
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
