"""Fine-tune a pretrained network on classes it has never seen.

No weights can be downloaded here, so the script makes its own pretrained
model: a small conv net trained on digits 0-4 and saved as a ``.keras`` file.
``TransferClassifier`` then reuses its conv layers for digits 5-9 from only a
few labelled images: phase 1 trains a new head on the frozen base, phase 2
unfreezes the top conv layer with a small learning rate. The grid search
chooses how many layers to unfreeze and the head's size.

    python examples/transfer_learning.py [--fast]
"""

import argparse
import os
import tempfile

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from skdeep import TransferClassifier


def pretrain(X, y, path, epochs):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    features = keras.layers.Flatten(name="features")(x)
    outputs = keras.layers.Dense(5, activation="softmax")(features)
    net = keras.Model(inputs, outputs)
    net.compile("adam", "sparse_categorical_crossentropy")
    net.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
    keras.Model(net.input, features, name="digit_features").save(path)


def main(fast=False):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits_0_4.keras")
        pretrain(X[y < 5], y[y < 5], path, epochs=2 if fast else 15)
        X_new, y_new = X[y >= 5], y[y >= 5]
        X_train, X_test, y_train, y_test = train_test_split(
            X_new, y_new, train_size=50, stratify=y_new, random_state=0)
        clf = TransferClassifier(path, epochs=3 if fast else 60, fine_tune_epochs=2
                                 if fast else 20, fine_tune_learning_rate=1e-4,
                                 early_stopping=False, random_state=0)
        grid = {"trainable_layers": [0, 1], "head_layer_sizes": [(32,), (64,)]}
        search = GridSearchCV(clf, grid, cv=3).fit(X_train, y_train)
    print("best:", search.best_params_)
    print(f"accuracy on unseen digits 5-9 from 50 labelled images: "
          f"{search.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
