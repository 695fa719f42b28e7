"""MLflow tracking of skdeep searches, against a real store in tmp_path."""

import shutil
import sys

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("optuna")

from skdeep import MLPClassifier, make_tabular_pipeline, tune  # noqa: E402
from skdeep.tracking import log_history  # noqa: E402

TINY = dict(hidden_layer_sizes=(8,), epochs=4, learning_rate=0.02)
SPACE = {"learning_rate": [1e-2, 3e-2], "hidden_layer_sizes": [(4,), (8, 4)]}


@pytest.fixture(scope="module")
def small():
    from sklearn.datasets import load_digits

    X, y = load_digits(n_class=4, return_X_y=True)
    return (X / 16.0).astype(np.float32)[:200], y[:200]


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    """A new MLflow SQLite store, its tables made: MLflow's migrations take
    seconds, so each test starts from a copy of this file."""
    path = tmp_path_factory.mktemp("mlflow") / "empty.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    mlflow.tracking.MlflowClient().search_experiments()  # makes the tables
    mlflow.set_tracking_uri(previous)
    return path


@pytest.fixture
def store(tmp_path, empty_store):
    """A local MLflow store of its own (SQLite, artifacts in tmp_path); no
    server."""
    shutil.copyfile(empty_store, tmp_path / "mlflow.db")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment(
        "skdeep", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    yield experiment
    mlflow.sklearn.autolog(disable=True)
    mlflow.set_tracking_uri(previous)


@pytest.mark.slow
def test_autolog_records_a_bayes_search_and_its_best_model(small, store):
    X, y = small
    mlflow.sklearn.autolog(max_tuning_runs=None, silent=True)
    with mlflow.start_run() as parent:
        search = tune(MLPClassifier(**TINY), X, y, space=SPACE, strategy="bayes",
                      n_iter=3, cv=2, random_state=0, verbose=0)
        logged = log_history(search)
    client = mlflow.tracking.MlflowClient()
    runs = client.search_runs([store])
    children = [r for r in runs
                if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 4 and len(children) == 3  # one child per candidate
    parent_run = client.get_run(parent.info.run_id)
    assert parent_run.data.metrics["best_cv_score"] == pytest.approx(
        search.best_score_)
    assert parent_run.data.params["best_hidden_layer_sizes"] == str(
        search.best_params_["hidden_layer_sizes"])
    expected = sorted(search.cv_results_["mean_test_score"])
    assert sorted(r.data.metrics["mean_test_score"] for r in children) == \
        pytest.approx(expected)
    assert {r.data.params["hidden_layer_sizes"] for r in children} <= \
        {"(4,)", "(8, 4)"}
    assert all("pruned" in r.data.metrics for r in children)

    # the best model loads back with MLflow alone and predicts identically
    models = mlflow.search_logged_models(experiment_ids=[store],
                                         output_format="list")
    best = next(m for m in models if m.name == "best_estimator")
    loaded = mlflow.sklearn.load_model(f"models:/{best.model_id}")
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), search.predict_proba(X))

    # the best network's training curve, one value per epoch
    history = search.best_estimator_.history_
    assert logged == list(history) and {"loss", "val_loss"} <= set(history)
    for key, values in history.items():
        points = client.get_metric_history(parent.info.run_id, key)
        assert [p.step for p in points] == list(range(len(values)))
        np.testing.assert_allclose([p.value for p in points], values, rtol=1e-6)


def test_log_history_of_a_pipeline_with_prefix_and_run_id(small, store):
    X, y = small
    pipe = make_tabular_pipeline(MLPClassifier(**TINY, random_state=0)).fit(X, y)
    run = mlflow.start_run()
    mlflow.end_run()
    assert log_history(pipe, prefix="best_", run_id=run.info.run_id) == \
        ["best_loss", "best_val_loss"]
    points = mlflow.tracking.MlflowClient().get_metric_history(
        run.info.run_id, "best_val_loss")
    np.testing.assert_allclose([p.value for p in points],
                               pipe[-1].history_["val_loss"], rtol=1e-6)


def test_log_history_errors(small, store, monkeypatch):
    from sklearn.model_selection import GridSearchCV

    X, y = small
    with pytest.raises(ValueError, match=r"log_history needs a fitted skdeep "
                       r"estimator .* got MLPClassifier\. Call fit first"):
        log_history(MLPClassifier())
    fitted = MLPClassifier(**TINY).fit(X, y)
    with pytest.raises(RuntimeError, match=r"log_history needs an MLflow run to log "
                       r"to: call it inside `with mlflow\.start_run\(\):`"):
        log_history(fitted)
    no_refit = GridSearchCV(MLPClassifier(**TINY), {"epochs": [1]}, cv=2,
                            refit=False).fit(X, y)
    with pytest.raises(ValueError, match=r"has no best_estimator_ \(refit=False\)"
                       r"\. Fit it with refit=True"):
        log_history(no_refit)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'skdeep\[mlflow\]'"):
        log_history(fitted)
