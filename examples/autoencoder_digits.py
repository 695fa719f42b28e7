"""An autoencoder as a pipeline step: compress digits to 8 numbers, then classify.

``AutoencoderTransformer`` is a transformer like PCA: ``transform`` gives the
latent code, ``inverse_transform`` rebuilds rows from it. This example compares
its reconstruction error with PCA's, then tunes the code size and the
denoising noise (``ae__latent_dim``, ``ae__noise_std``) of a pipeline that
ends in a logistic regression.

    python examples/autoencoder_digits.py [--fast]
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import AutoencoderTransformer, results_table


def main(fast=False):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, random_state=0)
    epochs = 3 if fast else 60
    ae = AutoencoderTransformer(8, encoder_layer_sizes=(128,), learning_rate=3e-3,
                                epochs=epochs, random_state=0).fit(X_train)
    pca = PCA(8).fit(X_train)
    for name, model in (("autoencoder", ae), ("PCA", pca)):
        error = np.mean((model.inverse_transform(model.transform(X_test))
                         - X_test) ** 2)
        print(f"{name}: held-out reconstruction MSE with 8 numbers {error:.3f}")

    pipe = Pipeline([
        ("ae", AutoencoderTransformer(encoder_layer_sizes=(128,), learning_rate=3e-3,
                                      epochs=epochs, random_state=0)),
        ("clf", LogisticRegression(max_iter=2000)),
    ])
    grid = {"ae__latent_dim": [4, 8] if fast else [4, 8, 16],
            "ae__noise_std": [0.0] if fast else [0.0, 0.2]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    print(results_table(search).to_string())
    print(f"test accuracy: {search.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
