"""The plot helpers draw what they say (Agg backend, no screen)."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from skdeep import MLPClassifier, make_tabular_pipeline, tune  # noqa: E402
from skdeep.plotting import plot_history, plot_param_effect  # noqa: E402


@pytest.fixture(scope="module")
def search(blobs):
    X, y = blobs
    pipe = make_tabular_pipeline(MLPClassifier(epochs=3, random_state=0))
    space = {"model__learning_rate": [1e-3, 1e-2],
             "model__activation": ["relu", "tanh"]}
    return tune(pipe, X, y, space=space, strategy="grid", cv=2, verbose=0)


def test_plot_param_effect_numeric_and_categorical(search):
    ax = plot_param_effect(search, "learning_rate")
    assert ax.get_xlabel() == "model__learning_rate"
    # one point per candidate at (learning rate, mean test score)
    points = np.asarray(ax.lines[0].get_xydata())
    results = search.cv_results_
    expected = sorted(zip(np.asarray(results["param_model__learning_rate"], float),
                          results["mean_test_score"], strict=True))
    np.testing.assert_allclose(sorted(map(tuple, points)), expected)
    ax = plot_param_effect(search, "model__activation")
    assert sorted(t.get_text() for t in ax.get_xticklabels()) == ["relu", "tanh"]
    with pytest.raises(ValueError, match="'units' is not a searched parameter"):
        plot_param_effect(search, "units")


def test_plot_history(search):
    ax = plot_history(search.best_estimator_)
    labels = [line.get_label() for line in ax.lines]
    assert "loss" in labels
    np.testing.assert_allclose(ax.lines[0].get_ydata(),
                               search.best_estimator_[-1].history_["loss"])
    with pytest.raises(ValueError, match="needs a fitted skdeep estimator"):
        plot_history(MLPClassifier())
