"""Grid-search a network inside a cleaning + scaling pipeline.

The breast-cancer data that ships with scikit-learn, exported the way real
spreadsheets are: numbers stored as text with "n/a" markers, infinities, an
empty column, a constant column and a categorical column with missing values.
One ``GridSearchCV`` tunes the scaler and the network together; the best
pipeline is saved with joblib, loaded back and used on new rows.

    python examples/pipeline_grid_search.py [--fast]
"""

import argparse
import os
import tempfile

import joblib
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import RobustScaler, StandardScaler

from skdeep import MLPClassifier, make_tabular_pipeline


def messy_breast_cancer(seed=0):
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:, :10].copy(), data.target.map({0: "malignant", 1: "benign"})
    rng = np.random.RandomState(seed)
    radius = X["mean radius"].round(2).astype(str).astype(object)
    radius[rng.rand(len(X)) < 0.05] = "n/a"
    X["mean radius"] = radius  # numbers as text
    X.loc[rng.rand(len(X)) < 0.02, "mean texture"] = np.inf
    X["clinic"] = rng.choice(["north", "south", None], size=len(X))
    X["export_version"] = "v2"  # constant
    X["notes"] = np.nan  # empty
    return X, y


def main(fast=False):
    X, y = messy_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)

    model = MLPClassifier(epochs=20 if fast else 200, random_state=0)
    pipe = make_tabular_pipeline(model)
    grid = {
        "preprocess__numeric__scaler": [StandardScaler(), RobustScaler()],
        "model__hidden_layer_sizes": [(16,), (64, 32)],
        "model__dropout": [0.0, 0.2],
    }
    if fast:
        grid["model__dropout"] = [0.0]
    search = GridSearchCV(pipe, grid, cv=3, scoring="roc_auc", n_jobs=1)
    search.fit(X_train, y_train)
    print("best parameters:", search.best_params_)
    print(f"cross-validated ROC AUC: {search.best_score_:.3f}")
    print(f"held-out ROC AUC: {search.score(X_test, y_test):.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "best_pipeline.joblib")
        joblib.dump(search.best_estimator_, path)
        loaded = joblib.load(path)
    new_rows = X_test.head(3).copy()
    new_rows["clinic"] = "east"  # a category never seen in training
    print("predictions for new rows:", list(loaded.predict(new_rows)))
    return search


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
