"""Your own Keras network, scikeras-style, in a scikit-learn search.

A scikeras script, with only the import changed: a build function that takes
``meta`` and its own arguments, routed parameters (``model__hidden``,
``optimizer__learning_rate``) tuned by ``GridSearchCV`` behind a
``StandardScaler``. Then a two-input network (wide and deep) fed from one
DataFrame with ``input_columns``: cross-validation still slices one table.

    python examples/bring_your_own_network.py [--fast]
"""

import argparse

import keras
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import KerasClassifier  # was: from scikeras.wrappers import KerasClassifier


def build(meta, hidden=16):
    """A build function exactly as scikeras's docs write them."""
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def wide_and_deep(meta):
    """Two named inputs: the 'mean' measurements go wide, the rest go deep."""
    wide = keras.Input((10,), name="wide")
    deep = keras.Input((20,), name="deep")
    hidden = keras.layers.Dense(16, activation="relu")(deep)
    merged = keras.layers.Concatenate()([wide, hidden])
    return keras.Model({"wide": wide, "deep": deep},
                       keras.layers.Dense(1, activation="sigmoid")(merged))


def main(fast=False):
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    epochs = 10 if fast else 50
    cv = StratifiedKFold(3 if fast else 5, shuffle=True, random_state=0)

    clf = KerasClassifier(build, loss="binary_crossentropy", optimizer="adam",
                          epochs=epochs, batch_size=32, verbose=0, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf)
    grid = {"kerasclassifier__model__hidden": [16, 32],
            "kerasclassifier__optimizer__learning_rate": [1e-3, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
    print("best parameters:", search.best_params_)
    print(f"cross-validated accuracy: {search.best_score_:.3f}")

    mean = [c for c in X.columns if c.startswith("mean ")]
    rest = [c for c in X.columns if c not in mean]
    scaled = X.copy()
    scaled[:] = StandardScaler().fit_transform(X)  # a table, still with its names
    two_inputs = KerasClassifier(
        wide_and_deep, input_columns={"wide": mean, "deep": rest},
        loss="binary_crossentropy", optimizer="adam", optimizer__learning_rate=1e-2,
        epochs=epochs, verbose=0, random_state=0)
    scores = cross_val_score(two_inputs, scaled, y, cv=cv)
    print(f"wide-and-deep network, cross-validated accuracy: {scores.mean():.3f}")
    return search


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
