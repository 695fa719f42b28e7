"""The same scikeras-style script with scikeras and with skdeep (only the import
differs), next to scikit-learn's MLP on the same work.

Each library runs in a fresh process: import, a GridSearchCV over the build
function's width and the learning rate (breast cancer, 4 candidates x 5-fold
CV + refit, 30 epochs, batch 32), then predict. Reported: whole-process wall
time, search time, best CV accuracy, and the ratios to scikit-learn's time
measured in the same run.

    python benchmarks/bench_scikeras.py [--repeats 2]
"""

import argparse
import json
import os
import subprocess
import sys
import time

SCRIPT = r"""
import json, os, sys, time, warnings
start = time.perf_counter()
lib = sys.argv[1]
warnings.simplefilter("ignore")
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
X, y = load_breast_cancer(return_X_y=True)
cv = StratifiedKFold(5, shuffle=True, random_state=0)
if lib == "sklearn":
    from sklearn.neural_network import MLPClassifier
    est = MLPClassifier(batch_size=32, max_iter=30, random_state=0)
    grid = {"mlpclassifier__hidden_layer_sizes": [(16,), (32,)],
            "mlpclassifier__learning_rate_init": [1e-3, 1e-2]}
else:
    import keras
    if lib == "scikeras":
        from scikeras.wrappers import KerasClassifier
    else:
        from skdeep import KerasClassifier

    def build(meta, hidden=16):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid")])

    est = KerasClassifier(build, loss="binary_crossentropy", optimizer="adam",
                          epochs=30, batch_size=32, verbose=0, random_state=0)
    grid = {"kerasclassifier__model__hidden": [16, 32],
            "kerasclassifier__optimizer__learning_rate": [1e-3, 1e-2]}
pipe = make_pipeline(StandardScaler(), est)
t0 = time.perf_counter()
search = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
search_s = time.perf_counter() - t0
search.predict(X)
print(json.dumps({"lib": lib, "total_s": time.perf_counter() - start,
                  "search_s": search_s, "cv": search.best_score_}))
"""


def run(lib):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, lib], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    best = {}
    for _ in range(args.repeats):  # interleaved, best of n: the machine is shared
        for lib in ("sklearn", "skdeep", "scikeras"):
            result = run(lib)
            if lib not in best or result["total_s"] < best[lib]["total_s"]:
                best[lib] = result
    base = best["sklearn"]
    print(f"{'library':10} {'total s':>8} {'search s':>9} {'x sklearn':>10} "
          f"{'best CV':>8}")
    for lib in ("sklearn", "skdeep", "scikeras"):
        r = best[lib]
        print(f"{lib:10} {r['total_s']:8.1f} {r['search_s']:9.1f} "
              f"{r['total_s'] / base['total_s']:10.2f} {r['cv']:8.4f}")
    ours, theirs = best["skdeep"], best["scikeras"]
    print(f"skdeep vs scikeras (whole process): "
          f"{ours['total_s'] / theirs['total_s']:.2f}x; "
          f"search only: {ours['search_s'] / theirs['search_s']:.2f}x")
    return best


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"(benchmark wall time {time.perf_counter() - start:.0f} s)")
