"""Plots of training curves and search results (needs the ``plot`` extra)."""

__all__ = ["plot_history", "plot_param_effect"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skdeep's plots need matplotlib: pip install 'skdeep[plot]'."
        ) from exc
    return plt


def plot_history(estimator, *, ax=None):
    """Per-epoch training (and validation) loss of a fitted estimator.

    Works on a pipeline too (its last step is used). Returns the Axes.
    """
    history = getattr(estimator, "history_", None)
    if history is None and hasattr(estimator, "steps"):
        history = getattr(estimator.steps[-1][1], "history_", None)
    if history is None:
        raise ValueError(
            "plot_history needs a fitted skdeep estimator (with history_); got "
            f"{type(estimator).__name__}. Call fit first."
        )
    if ax is None:
        ax = _pyplot().subplots()[1]
    for key, values in history.items():
        ax.plot(range(1, len(values) + 1), values, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("value")
    ax.legend()
    return ax


def plot_param_effect(search, param, *, ax=None):
    """Mean test score (with one standard deviation) against one parameter.

    ``param`` is a parameter name as in the search space (``"model__dropout"``)
    or without its pipeline prefix (``"dropout"``). Numeric parameters give a
    scatter with error bars, others a bar per value (best score per value).
    Returns the Axes.
    """
    from skdeep.search.tune import results_table

    table = results_table(search)
    matches = [c for c in table.columns if c == param or c.endswith("__" + param)]
    if not matches:
        searched = [c for c in table.columns
                    if not c.startswith(("mean_", "std_", "rank_"))]
        raise ValueError(f"{param!r} is not a searched parameter; searched: {searched}")
    column = matches[0]
    metric = next(c for c in table.columns if c.startswith("mean_test_"))
    std = metric.replace("mean_", "std_")
    if ax is None:
        ax = _pyplot().subplots()[1]
    values = table[column]
    numeric = values.map(lambda v: isinstance(v, (int, float)) and
                         not isinstance(v, bool)).all()
    if numeric:
        ax.errorbar(values.astype(float), table[metric], yerr=table[std], fmt="o")
        if values.astype(float).min() > 0 and values.astype(float).max() / \
                values.astype(float).min() > 50:
            ax.set_xscale("log")
    else:
        best = table.assign(_key=values.astype(str)).groupby("_key")[metric].max()
        ax.bar(best.index, best.to_numpy())
        ax.tick_params(axis="x", rotation=30)
    ax.set_xlabel(column)
    ax.set_ylabel(metric)
    return ax
