"""Successive halving with epochs as the resource.

Many candidates train for a few epochs; the best third go on with three times
as many, until the survivors train for the full budget. Wine data (ships with
scikit-learn).

    python examples/halving_over_epochs.py [--fast]
"""

import argparse

from sklearn.datasets import load_wine

from skdeep import MLPClassifier, make_tabular_pipeline, results_table, tune


def main(fast=False):
    X, y = load_wine(return_X_y=True)
    pipe = make_tabular_pipeline(MLPClassifier(epochs=9 if fast else 81,
                                               early_stopping=False))
    search = tune(pipe, X, y, strategy="halving", n_iter=6 if fast else 27, cv=3,
                  random_state=0)
    print("epochs per round:", list(search.n_resources_))
    print("candidates per round:", list(search.n_candidates_))
    print(results_table(search)[["iter", "n_resources", "mean_test_score"]].head())
    print("best:", search.best_params_)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
