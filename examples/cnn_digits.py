"""Grid-search convolutional layers and kernel sizes on 8x8 digit images.

``CNNClassifier`` takes flat rows plus ``input_shape`` so it can sit behind a
scaler in a pipeline; the conv blocks, kernel size and augmentation are
tuned like any other hyperparameter.

    python examples/cnn_digits.py [--fast]
"""

import argparse

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdeep import CNNClassifier, results_table


def main(fast=False):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, random_state=0)
    pipe = make_pipeline(MinMaxScaler(), CNNClassifier(
        input_shape=(8, 8), epochs=3 if fast else 100, random_state=0))
    grid = {
        "cnnclassifier__conv_filters": [(16,), (32, 64)],
        "cnnclassifier__kernel_size": [3] if fast else [3, 5],
        "cnnclassifier__augmentation": [()] if fast else [(), ("zoom",)],
    }
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    print(results_table(search).head().to_string())
    print(f"test accuracy: {search.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
