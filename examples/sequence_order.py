"""Classify sequences by the order of two events, and tune the recurrent cell.

Each sequence holds two short bursts, A and B; the label says whether A comes
first. The values are the same either way, so models that ignore order
(logistic regression, an MLP on the flattened rows) do poorly, while a GRU
reads the order. ``SequenceClassifier`` takes flat rows plus
``input_shape=(timesteps, features)``, so it sits after a scaler in a
pipeline and its cell is tuned like any other hyperparameter.

    python examples/sequence_order.py [--fast]
"""

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import SequenceClassifier, SequenceRegressor, results_table


def order_task(n, timesteps=12, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(scale=0.3, size=(n, timesteps, 2))
    y = rng.randint(0, 2, n)
    for i in range(n):
        a, b = rng.choice(timesteps, 2, replace=False)
        if (a < b) != bool(y[i]):
            a, b = b, a
        X[i, a, 0] += 2.0  # event A
        X[i, b, 1] += 2.0  # event B
    return X.reshape(n, -1), y  # flat rows: 12 timesteps x 2 features


def main(fast=False):
    X, y = order_task(300 if fast else 1000)
    X_test, y_test = order_task(500, seed=1)
    pipe = make_pipeline(StandardScaler(), SequenceClassifier(
        input_shape=(12, 2), learning_rate=0.01, epochs=3 if fast else 60,
        random_state=0))
    grid = {
        "sequenceclassifier__cell": ["gru", "conv1d"] if fast
        else ["gru", "lstm", "conv1d"],
        "sequenceclassifier__recurrent_layer_sizes": [(16,)] if fast
        else [(16,), (32,)],
    }
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    print(results_table(search).head().to_string())
    baseline = LogisticRegression(max_iter=1000).fit(X, y).score(X_test, y_test)
    print(f"test accuracy: best sequence model {search.score(X_test, y_test):.3f}, "
          f"logistic regression {baseline:.3f}")

    # regression: the target is the sum of the values 3 and 7 steps back
    rng = np.random.RandomState(0)
    series = rng.normal(size=(600, 10))
    target = series[:, 6] + series[:, 2]
    reg = SequenceRegressor((16,), input_shape=(10,), learning_rate=0.01,
                            epochs=5 if fast else 60, random_state=0)
    reg.fit(series[:400], target[:400])
    print(f"lagged sum, test R^2: {reg.score(series[400:], target[400:]):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
