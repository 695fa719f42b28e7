"""Durable searches: the store's cost per fit, and the time a resume saves.

The README's tuning example (``tune(pipe, X, y, strategy="random", n_iter,
cv, n_jobs=2, random_state=0)``, ``pipe = make_tabular_pipeline(
MLPClassifier(epochs=E))`` on the breast-cancer frame), each search in a fresh
process:

- overhead: a search with a store in one process; then, in the same process,
  what the store does for each of its fits (the key's hashes, the look-up, the
  claim, the durable write of the result) is timed on a fresh store, plus the one-off
  hash of X and y, divided by the number of fits; against the mean fit (and
  score) time of the search's ``cv_results_``.
- resume: an uninterrupted search with a fresh store; then a search SIGKILLed
  once half its fits are in its store, and the same command again: the
  resumed run's time against the uninterrupted one's (process wall time,
  TensorFlow's import included, and the ``tune`` call alone).

    python benchmarks/bench_store.py [--n-iter 8] [--cv 3] [--epochs 30]
"""

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

_RUN = r"""
import json, os, sys, time, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
warnings.filterwarnings("ignore")
from sklearn.datasets import load_breast_cancer
from skdeep import MLPClassifier, make_tabular_pipeline, tune

store, n_iter, cv, epochs, mode = sys.argv[1:6]
frame, y = load_breast_cancer(return_X_y=True, as_frame=True)
pipe = make_tabular_pipeline(MLPClassifier(epochs=int(epochs)))
start = time.perf_counter()
search = tune(pipe, frame, y, strategy="random", n_iter=int(n_iter), cv=int(cv),
              n_jobs=2, random_state=0, verbose=0, store=store)
elapsed = time.perf_counter() - start
out = {"tune_s": elapsed, "fitted": search.store_fitted_,
       "resumed": search.store_resumed_,
       "fit_s": float(search.cv_results_["mean_fit_time"].mean()),
       "score_s": float(search.cv_results_["mean_score_time"].mean())}
if mode == "overhead":
    from itertools import product
    import numpy as np
    from sklearn.model_selection import ParameterSampler, StratifiedKFold
    from skdeep.search.store import FitStore, _hash
    t = time.perf_counter()
    context = _hash((_hash(frame), _hash(y)))
    once = time.perf_counter() - t
    splits = list(StratifiedKFold(int(cv)).split(frame, y))
    params = list(ParameterSampler(search.param_distributions, int(n_iter),
                                   random_state=0))
    record = {"test_scores": 0.9, "train_scores": 0.9, "n_test_samples": 100,
              "fit_time": 1.0, "score_time": 0.1, "fit_error": None, "n_iter": 30}
    fresh = FitStore(store + ".bench")
    t = time.perf_counter()
    for p, (train, test) in product(params, splits):
        key = _hash((context, _hash(p), _hash(train), _hash(test)))
        fresh.get(key)
        fresh.claim(key)
        fresh.put(key, context, record)
    per_fit = (time.perf_counter() - t) / (len(params) * len(splits))
    out.update(store_ms_per_fit=1000 * (per_fit + once / (len(params) * len(splits))),
               data_hash_ms=1000 * once)
print("RESULT " + json.dumps(out))
"""


def _result(proc_out):
    for line in proc_out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(proc_out)


def _run(script, store, args, mode):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, script, store, *args, mode],
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - start, _result(proc.stdout)


def _records(store):
    try:
        with sqlite3.connect(store, timeout=10) as db:
            return db.execute("SELECT COUNT(*) FROM fits").fetchone()[0]
    except sqlite3.Error:
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=8)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--overhead-only", action="store_true")
    opts = parser.parse_args()
    args = [str(opts.n_iter), str(opts.cv), str(opts.epochs)]
    n_fits = opts.n_iter * opts.cv
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "run.py")
        with open(script, "w") as fh:
            fh.write(_RUN)
        _, over = _run(script, os.path.join(folder, "o.db"), args, "overhead")
        print(f"{n_fits} fits: mean fit {1000 * over['fit_s']:.0f} ms + score "
              f"{1000 * over['score_s']:.0f} ms; store {over['store_ms_per_fit']:.2f}"
              f" ms per fit (hash of X, y once: {over['data_hash_ms']:.1f} ms), "
              f"{100 * over['store_ms_per_fit'] / 1000 / over['fit_s']:.2f}% of a fit")
        if opts.overhead_only:
            return

        full_wall, full = _run(script, os.path.join(folder, "full.db"), args, "-")
        store = os.path.join(folder, "killed.db")
        proc = subprocess.Popen([sys.executable, script, store, *args, "-"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while _records(store) < n_fits // 2:
            if proc.poll() is not None:
                raise RuntimeError("the search finished before the kill")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kept = _records(store)
        resumed_wall, resumed = _run(script, store, args, "-")
        print(f"uninterrupted: {full_wall:.1f} s wall ({full['tune_s']:.1f} s in "
              f"tune); killed with {kept}/{n_fits} fits recorded, resumed: "
              f"{resumed_wall:.1f} s wall ({resumed['tune_s']:.1f} s in tune, "
              f"{resumed['resumed']} fits from the store, {resumed['fitted']} run) "
              f"= {100 * resumed_wall / full_wall:.0f}% of the uninterrupted wall "
              f"time ({100 * resumed['tune_s'] / full['tune_s']:.0f}% in tune)")


if __name__ == "__main__":
    main()
