"""Bayesian search: Optuna spaces, tune(strategy="bayes"), pruning, CLI.

Real Optuna studies on tiny networks; nothing is mocked.
"""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import loguniform, norm, randint, uniform
from sklearn.model_selection import RandomizedSearchCV

optuna = pytest.importorskip("optuna")

from skdeep import (  # noqa: E402
    MLPClassifier,
    MLPRegressor,
    load,
    make_tabular_pipeline,
    results_table,
    save,
    tune,
)
from skdeep.search import default_space  # noqa: E402
from skdeep.search.bayes import (  # noqa: E402
    BayesSearchCV,
    decode_choice,
    encode_choice,
    to_optuna_space,
)

dists = optuna.distributions
TINY = dict(hidden_layer_sizes=(8,), epochs=4, learning_rate=0.02)
SPACE = {"hidden_layer_sizes": [(4,), (8,), (8, 4)],
         "learning_rate": loguniform(3e-3, 5e-2)}


@pytest.fixture(scope="module")
def small():
    from sklearn.datasets import load_digits

    X, y = load_digits(n_class=4, return_X_y=True)
    return (X / 16.0).astype(np.float32)[:300], y[:300]


@pytest.fixture(scope="module")
def fitted(small):
    """One small Bayesian search, shared by the tests that only read it."""
    X, y = small
    return tune(MLPClassifier(**TINY), X, y, space=SPACE, strategy="bayes",
                n_iter=4, cv=2, random_state=0, verbose=0)


# ------------------------------------------------------------------ spaces
def test_default_bayes_space_is_optuna_distributions_everywhere():
    space = default_space(MLPClassifier(), strategy="bayes")
    assert set(default_space(MLPClassifier())) | {"l1"} == set(space)
    assert all(isinstance(d, dists.BaseDistribution) for d in space.values())
    for name in ("learning_rate", "l1", "l2"):
        assert isinstance(space[name], dists.FloatDistribution) and space[name].log
    sizes = space["hidden_layer_sizes"]
    assert isinstance(sizes, dists.CategoricalDistribution)
    assert all(isinstance(c, str) for c in sizes.choices)  # storable by Optuna
    piped = default_space(make_tabular_pipeline(MLPRegressor()), strategy="bayes")
    assert set(piped) == {"model__" + k for k in space}


def test_choices_are_encoded_for_optuna_and_decoded_back():
    assert encode_choice((64, 32)) == "64-32" and decode_choice("64-32") == (64, 32)
    assert decode_choice(encode_choice((128,))) == (128,)
    assert encode_choice(np.int64(3)) == 3 and encode_choice(None) is None
    with pytest.raises(ValueError, match=r"Cannot decode 'relu' as layer sizes: "
                       r"expected digits joined by '-', e.g. '64-32'"):
        decode_choice("relu")


def test_to_optuna_space_translates_lists_and_scipy_distributions():
    est = MLPClassifier()
    space, decoders = to_optuna_space(
        {"hidden_layer_sizes": [(4,), (8, 4)], "activation": ["relu", "tanh"],
         "learning_rate": loguniform(1e-4, 1e-2), "dropout": uniform(0.1, 0.3),
         "batch_size": randint(16, 65),
         "kernel_initializer": dists.CategoricalDistribution(["he_normal"])},
        est)
    assert space["hidden_layer_sizes"].choices == ("4", "8-4")
    assert decoders["hidden_layer_sizes"] == {"4": (4,), "8-4": (8, 4)}
    assert "activation" not in decoders  # plain strings need no decoding
    assert space["learning_rate"] == dists.FloatDistribution(1e-4, 1e-2, log=True)
    np.testing.assert_allclose([space["dropout"].low, space["dropout"].high],
                               [0.1, 0.4])
    assert space["batch_size"] == dists.IntDistribution(16, 64)
    # an Optuna categorical of labels for a tuple parameter is decoded too
    _, decoders = to_optuna_space(
        {"hidden_layer_sizes": dists.CategoricalDistribution(["16", "32-16"])}, est)
    assert decoders["hidden_layer_sizes"]["32-16"] == (32, 16)


def test_to_optuna_space_errors():
    with pytest.raises(TypeError, match=r"space\['dropout'\] is a scipy norm "
                       "distribution, which strategy='bayes' cannot translate; "
                       "use a list of values"):
        to_optuna_space({"dropout": norm(0, 1)}, MLPClassifier())
    with pytest.raises(TypeError, match=r"space\['dropout'\] must be a non-empty "
                       r"list of values.*got \[\]"):
        to_optuna_space({"dropout": []}, MLPClassifier())


# -------------------------------------------------------------------- tune
def test_tune_bayes_returns_a_scikit_learn_search(small, fitted):
    X, _ = small
    search = fitted
    assert isinstance(search, BayesSearchCV)
    assert isinstance(search, RandomizedSearchCV)  # what MLflow & co. recognise
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["hidden_layer_sizes"] in [(4,), (8,), (8, 4)]
    assert all(isinstance(p["hidden_layer_sizes"], tuple)
               for p in search.cv_results_["params"])
    assert search.best_score_ == pytest.approx(
        np.nanmax(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.5
    assert search.best_estimator_.predict(X[:3]).shape == (3,)
    assert search.best_estimator_.random_state == 0  # seeded by tune
    assert [t.state for t in search.study_.trials] == \
        [optuna.trial.TrialState.COMPLETE] * 4
    np.testing.assert_allclose([t.value for t in search.study_.trials],
                               search.cv_results_["mean_test_score"])
    table = results_table(search)
    assert {"hidden_layer_sizes", "learning_rate", "mean_test_score",
            "pruned"} <= set(table.columns)
    assert not table["pruned"].any()
    assert table["mean_test_score"].iloc[0] == pytest.approx(search.best_score_)


def test_tune_bayes_is_reproducible(small, fitted):
    X, y = small
    again = tune(MLPClassifier(**TINY), X, y, space=SPACE, strategy="bayes",
                 n_iter=4, cv=2, random_state=0, verbose=0)
    assert again.cv_results_["params"] == fitted.cv_results_["params"]
    np.testing.assert_allclose(again.cv_results_["mean_test_score"],
                               fitted.cv_results_["mean_test_score"])


def test_bayes_search_saves_loads_pickles_and_plots(small, fitted, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from skdeep.plotting import plot_param_effect

    X, _ = small
    save(fitted, tmp_path / "search.skdeep")
    loaded = load(tmp_path / "search.skdeep")
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    again = pickle.loads(pickle.dumps(fitted))
    assert len(again.study_.trials) == 4
    assert plot_param_effect(fitted, "learning_rate").get_xlabel() == \
        "learning_rate"
    assert plot_param_effect(fitted, "hidden_layer_sizes").get_ylabel() == \
        "mean_test_score"


def test_tune_bayes_default_space_in_a_pipeline(small):
    X, y = small
    pipe = make_tabular_pipeline(MLPClassifier(epochs=2))
    search = tune(pipe, X, y, strategy="bayes", n_iter=2, cv=2, random_state=0,
                  verbose=1)
    assert all(k.startswith("model__") for k in search.best_params_)
    assert isinstance(search.best_params_["model__hidden_layer_sizes"], tuple)
    assert isinstance(search.best_estimator_[-1].hidden_layer_sizes, tuple)


def test_progress_lines(small, capsys):
    X, y = small
    tune(MLPClassifier(**dict(TINY, epochs=2)), X, y, space=SPACE,
         strategy="bayes", n_iter=2, cv=2, random_state=0, verbose=1)
    err = capsys.readouterr().err
    assert "[skdeep] 4/4 fits (2/2 candidates x 2 folds)" in err
    assert "best so far" in err


# ----------------------------------------------------------------- pruning
def test_pruned_candidates_stop_early_and_rank_last(small):
    X, y = small
    # a learning rate of 1e-5 leaves the validation loss near log(4) = 1.39;
    # Optuna's ThresholdPruner stops any candidate still above 1.0 at epoch 3
    # of its probe
    pruner = optuna.pruners.ThresholdPruner(lower=-1.0, n_warmup_steps=2)
    space = {"learning_rate": [1e-5, 3e-2], "hidden_layer_sizes": [(8,), (16,)]}
    search = tune(MLPClassifier(**dict(TINY, epochs=8)), X, y, space=space,
                  strategy="bayes", n_iter=4, cv=2, random_state=0, verbose=0,
                  pruner=pruner)
    results = search.cv_results_
    slow = np.array([p["learning_rate"] == 1e-5 for p in results["params"]])
    assert slow.any() and (~slow).any()
    np.testing.assert_array_equal(results["pruned"], slow)
    assert np.isnan(results["mean_test_score"][slow]).all()
    assert (results["rank_test_score"][slow] > (~slow).sum()).all()
    assert search.best_params_["learning_rate"] == 3e-2
    for trial, was_pruned in zip(search.study_.trials, slow, strict=True):
        # every candidate is probed on the first fold for max(3, 8 / 4) epochs
        assert sorted(trial.intermediate_values) == [0, 1, 2]
        assert trial.state == (optuna.trial.TrialState.PRUNED if was_pruned
                               else optuna.trial.TrialState.COMPLETE)
    # the probe's settings never reach the reported parameters or the refit
    assert all("epochs" not in p for p in results["params"])
    assert search.best_estimator_.epochs == 8
    assert search.best_estimator_.n_iter_ > 3
    table = results_table(search)
    assert table["pruned"].tolist()[-slow.sum():] == [True] * slow.sum()
    # pruned candidates are not cross-validated: no split has a score
    for split in range(2):
        assert np.isnan(results[f"split{split}_test_score"][slow]).all()
        assert np.isfinite(results[f"split{split}_test_score"][~slow]).all()
    assert (results["mean_fit_time"] > 0).all()


def test_every_pruned_candidate_is_reported_in_trial_order(small):
    # all pruned: the first and the last go through scikit-learn's loop with
    # one-epoch fits, the middle one is added without fits
    X, y = small
    pruner = optuna.pruners.ThresholdPruner(lower=-1.0, n_warmup_steps=2)
    space = {"learning_rate": [1e-5], "hidden_layer_sizes": [(4,), (8,), (16,)]}
    search = tune(MLPClassifier(**dict(TINY, epochs=8)), X, y, space=space,
                  strategy="bayes", n_iter=3, cv=2, random_state=0, verbose=0,
                  pruner=pruner)
    results = search.cv_results_
    assert results["pruned"].tolist() == [True] * 3
    assert results["params"] == [
        {"learning_rate": 1e-5,
         "hidden_layer_sizes": decode_choice(t.params["hidden_layer_sizes"])}
        for t in search.study_.trials]
    assert np.isnan(results["mean_test_score"]).all()
    assert results["rank_test_score"].tolist() == [1, 1, 1]


@pytest.mark.parametrize("pruner", ["median", "halving"])
def test_named_pruners_run(small, pruner):
    X, y = small
    search = tune(MLPClassifier(**dict(TINY, epochs=6)), X, y, space=SPACE,
                  strategy="bayes", n_iter=5, cv=2, random_state=0, verbose=0,
                  pruner=pruner)
    pruned = search.cv_results_["pruned"]
    states = [t.state == optuna.trial.TrialState.PRUNED
              for t in search.study_.trials]
    assert list(pruned) == states
    assert not pruned[search.best_index_]
    assert search.study_.pruner.__class__.__name__ == {
        "median": "MedianPruner", "halving": "SuccessiveHalvingPruner"}[pruner]


# ------------------------------------------------------------------ errors
def test_bayes_errors(small):
    X, y = small
    with pytest.raises(ValueError, match="pruner='median' works with "
                       "strategy='bayes' only; got strategy='random'"):
        tune(MLPClassifier(**TINY), X, y, pruner="median")
    with pytest.raises(ValueError, match=r"need the network's validation split: "
                       r"got early_stopping=False on MLPClassifier\. Set "
                       r"early_stopping=True"):
        tune(MLPClassifier(**TINY, early_stopping=False), X, y, space=SPACE,
             strategy="bayes", n_iter=2, cv=2, pruner="median", verbose=0)
    with pytest.raises(ValueError, match="The 'pruner' parameter of BayesSearchCV "
                       "must be"):
        tune(MLPClassifier(**TINY), X, y, space=SPACE, strategy="bayes",
             n_iter=2, cv=2, pruner="mean", verbose=0)
    with pytest.raises(ValueError, match="strategy='bayes' optimises one score: "
                       r"with several scorers .*set refit to the name"):
        BayesSearchCV(MLPClassifier(**TINY), SPACE, n_iter=2, cv=2,
                      scoring=["accuracy", "f1_macro"], refit=False).fit(X, y)
    with pytest.raises(ValueError, match="strategy must be one of grid, random, "
                       "halving, bayes; got 'bayesian'"):
        tune(MLPClassifier(), X, y, strategy="bayesian")


def test_missing_optuna_names_the_extra(small, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'skdeep\[optuna\]'"):
        default_space(MLPClassifier(), strategy="bayes")
    with pytest.raises(ImportError, match=r"strategy='bayes' needs Optuna"):
        tune(MLPClassifier(**TINY), *small, space=SPACE, strategy="bayes",
             n_iter=2, cv=2, verbose=0)


def test_import_skdeep_loads_no_optuna_mlflow_or_tensorflow():
    code = ("import sys, skdeep, skdeep.search, skdeep.search.bayes, skdeep.tracking\n"
            "print(sorted(m for m in ('optuna', 'mlflow', 'tensorflow', 'keras')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


# --------------------------------------------------------------------- CLI
# The command's main() in this process: starting the `skdeep` process itself
# (and TensorFlow in it) is tested in tests/test_cli.py.
def _cli(capsys, *args):
    from skdeep.cli import main

    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.slow
def test_cli_strategy_bayes(tmp_path, capsys):
    model = tmp_path / "model.skdeep"
    status, out, err = _cli(
        capsys, "tune", "--demo", "--strategy", "bayes", "--pruner", "median",
        "--n-iter", "2", "--cv", "2", "--epochs", "3", "--quiet", "--out",
        str(model))
    assert status == 0, err
    assert "bayes search" in out
    assert "Pruned 0 of 2 candidates" in out  # 3 must complete first
    assert "model__hidden_layer_sizes = (" in out  # a tuple, not "64-32"
    status, out, _ = _cli(capsys, "info", str(model))
    assert status == 0 and "CV score:" in out


def test_cli_pruner_needs_bayes(capsys):
    status, _, err = _cli(capsys, "tune", "--demo", "--pruner", "median")
    assert status == 1
    assert "--pruner median needs --strategy bayes (got --strategy random)" in err
