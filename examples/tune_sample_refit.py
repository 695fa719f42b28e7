"""Tune on a sample, then refit the best estimator on all the data, streaming.

The full table is a NumPy memmap on disk (``np.load(path, mmap_mode="r")``),
written here in chunks; only a random sample of its rows is loaded for the
search. The refit streams the memmap batch by batch: its rows are never
loaded whole. A bare skdeep estimator streams; a pipeline's preprocessing
steps would load the data, so scale the data on disk first.

    python examples/tune_sample_refit.py [--fast]
"""

import argparse
import os
import tempfile

import numpy as np
from scipy.stats import loguniform
from sklearn.base import clone

from skdeep import MLPClassifier, tune


def write_table(path, n_rows, n_cols, seed=0):
    """A float32 table on disk, written in chunks, and its binary target."""
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                  shape=(n_rows, n_cols))
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n_cols)
    y = np.empty(n_rows, np.int8)
    for start in range(0, n_rows, 100_000):
        chunk = rng.standard_normal((min(100_000, n_rows - start), n_cols),
                                    dtype=np.float32)
        X[start:start + len(chunk)] = chunk
        y[start:start + len(chunk)] = (chunk @ w > 0)
    X.flush()
    return y


def main(fast=False):
    n_rows, n_sample = (50_000, 2_000) if fast else (2_000_000, 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "table.npy")
        y = write_table(path, n_rows, 20)
        X = np.load(path, mmap_mode="r")  # on disk, read batch by batch

        sample = np.sort(np.random.default_rng(1).choice(n_rows, n_sample,
                                                         replace=False))
        space = {"hidden_layer_sizes": [(16,), (64,)],
                 "learning_rate": loguniform(1e-3, 3e-2)}
        search = tune(MLPClassifier(epochs=5 if fast else 30, batch_size=256),
                      np.asarray(X[sample]), y[sample], space=space,
                      n_iter=2 if fast else 10, cv=3, random_state=0, verbose=0)
        # the recipe: the search's best parameters, refit on all rows, streaming
        model = clone(search.best_estimator_).set_params(epochs=2 if fast else 5)
        model.fit(X, y)

        print(f"best parameters on {n_sample:,} rows: {search.best_params_}")
        held_out = np.setdiff1d(np.arange(n_rows), sample)[:20_000]
        print(f"refit on all {n_rows:,} rows; accuracy on rows outside the "
              f"sample: {model.score(np.asarray(X[held_out]), y[held_out]):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
