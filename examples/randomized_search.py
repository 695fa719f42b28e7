"""Randomized search over architecture and training with distributions.

Digits (ships with scikit-learn). ``skdeep.tune`` samples hidden layers,
activation, dropout, L2 and a log-uniform learning rate; ``results_table``
shows the candidates best first.

    python examples/randomized_search.py [--fast]
"""

import argparse

from scipy.stats import loguniform, uniform
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdeep import MLPClassifier, make_tabular_pipeline, results_table, tune


def main(fast=False):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, random_state=0)
    pipe = make_tabular_pipeline(MLPClassifier(epochs=10 if fast else 100))
    space = {
        "model__hidden_layer_sizes": [(32,), (64,), (128, 64)],
        "model__activation": ["relu", "tanh", "gelu"],
        "model__dropout": uniform(0.0, 0.4),
        "model__l2": loguniform(1e-6, 1e-2),
        "model__learning_rate": loguniform(1e-4, 3e-2),
        "model__lr_schedule": ["constant", "cosine"],
    }
    search = tune(pipe, X_train, y_train, space=space, strategy="random",
                  n_iter=3 if fast else 20, cv=3, random_state=0)
    print(results_table(search).head(5).to_string())
    print(f"test accuracy of the best pipeline: {search.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
