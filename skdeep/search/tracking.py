"""Experiment tracking with MLflow (needs the ``mlflow`` extra).

MLflow's own ``mlflow.sklearn.autolog()`` already records a skdeep search:
``tune`` returns scikit-learn search objects (the Bayesian one is a
``RandomizedSearchCV``), so autolog makes a parent run with the best
parameters and score, one child run per candidate (``max_tuning_runs=None``;
the default keeps the best 5) and logs the search and its best model.
What autolog cannot see is the network's training curve;
:func:`log_history` adds it::

    import mlflow
    from skdeep import tune
    from skdeep.search.tracking import log_history

    mlflow.sklearn.autolog(max_tuning_runs=None)
    with mlflow.start_run():
        search = tune(pipe, X, y, strategy="bayes", n_iter=20)
        log_history(search)          # loss, val_loss, ... with step = epoch
"""

__all__ = ["log_history"]


def _mlflow():
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError(
            "skdeep.tracking needs MLflow, which is not installed: "
            "pip install 'skdeep[mlflow]'."
        ) from exc
    return mlflow


def _history(obj):
    """The per-epoch history of a fitted estimator, pipeline or search."""
    seen = obj
    if hasattr(obj, "cv_results_"):
        if not hasattr(obj, "best_estimator_"):
            raise ValueError(
                f"log_history needs the search's best model, but this "
                f"{type(obj).__name__} has no best_estimator_ (refit=False). "
                "Fit it with refit=True, or pass an estimator."
            )
        obj = obj.best_estimator_
    if hasattr(obj, "steps"):
        obj = obj.steps[-1][1]
    history = getattr(obj, "history_", None)
    if not isinstance(history, dict):
        raise ValueError(
            "log_history needs a fitted skdeep estimator (with history_), a "
            "pipeline ending in one, or a fitted search; got "
            f"{type(seen).__name__}. Call fit first."
        )
    return history


def log_history(estimator, *, prefix="", run_id=None):
    """Log a network's per-epoch history to MLflow, one metric per key.

    Parameters
    ----------
    estimator : fitted skdeep estimator, Pipeline ending in one, or search
        For a search (``tune``'s result), the best model's history.
    prefix : str, default=""
        Put in front of every metric name (``"best_"`` -> ``best_val_loss``).
    run_id : str, default=None
        The run to log to; ``None`` uses the active run.

    Returns
    -------
    list of str
        The metric names logged, each with one value per epoch at
        ``step`` = epoch (0 for the first epoch, as MLflow's Keras autolog).
    """
    mlflow = _mlflow()
    history = _history(estimator)
    if run_id is None:
        run = mlflow.active_run()
        if run is None:
            raise RuntimeError(
                "log_history needs an MLflow run to log to: call it inside "
                "`with mlflow.start_run():`, or pass run_id=..."
            )
        run_id = run.info.run_id
    import time

    from mlflow.entities import Metric

    timestamp = int(time.time() * 1000)
    metrics = [Metric(f"{prefix}{key}", float(value), timestamp, step)
               for key, values in history.items()
               for step, value in enumerate(values)]
    client = mlflow.tracking.MlflowClient()
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=metrics[start:start + 1000])
    return [f"{prefix}{key}" for key in history]
