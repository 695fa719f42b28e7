"""Progress lines of a running search ("fits done, elapsed, best so far")."""

import sys
import time

import numpy as np
from sklearn.experimental import enable_halving_search_cv  # noqa: F401


def format_params(params):
    """``{"model__learning_rate": np.float64(0.00123)}`` -> "learning_rate=0.00123"."""
    parts = []
    for key, value in params.items():
        if isinstance(value, (float, np.floating)):
            value = f"{float(value):.3g}"
        elif isinstance(value, np.integer):
            value = int(value)
        parts.append(f"{key.rsplit('__', 1)[-1]}={value}")
    return ", ".join(parts)


class _Progress:
    """Prints "fits done, elapsed, best so far" lines to stderr."""

    def __init__(self, n_candidates, metric):
        self.n_candidates = n_candidates
        self.metric = metric
        self.start = time.perf_counter()

    def update(self, results):
        scores = np.asarray(results[f"mean_test_{self.metric}"], dtype=float)
        n_splits = sum(1 for k in results
                       if k.startswith("split") and k.endswith(f"_test_{self.metric}"))
        elapsed = time.perf_counter() - self.start
        best = ""
        if np.isfinite(scores).any():
            i = int(np.nanargmax(scores))
            best = (f" | best so far {scores[i]:.4f} "
                    f"({format_params(results['params'][i])})")
        print(
            f"[skdeep] {len(scores) * n_splits}/{self.n_candidates * n_splits} fits "
            f"({len(scores)}/{self.n_candidates} candidates x {n_splits} folds) | "
            f"{elapsed:.1f}s elapsed{best}",
            file=sys.stderr, flush=True,
        )


def _run_in_chunks(search, evaluate_candidates, candidates):
    """Evaluate candidates a few at a time, reporting progress in between.

    The candidates and their order are those of the plain search, so the
    results are identical; only the reporting differs. Each chunk holds two
    candidates per worker, which keeps the workers busy between reports.
    """
    candidates = list(candidates)
    if not search.verbose:
        evaluate_candidates(candidates)
        return
    from joblib import effective_n_jobs

    size = max(1, effective_n_jobs(search.n_jobs)) * 2
    progress = _Progress(len(candidates), _refit_metric(search))
    verbose = search.verbose
    for i in range(0, len(candidates), size):
        # at verbose=1 our line replaces scikit-learn's "Fitting ..." per chunk
        search.verbose = 0 if verbose == 1 else verbose
        try:
            results = evaluate_candidates(candidates[i:i + size])
        finally:
            search.verbose = verbose
        progress.update(results)


def _refit_metric(search):
    return search.refit if isinstance(search.refit, str) else "score"
