"""Fit and predict time of skdeep's MLPClassifier against its peers.

Peers, measured in the same run with the same architecture (one hidden layer
of 100 ReLU units, softmax output), optimizer (Adam, lr 1e-3), epochs and batch
size, no early stopping:

- scikit-learn's ``MLPClassifier``
- raw Keras (``model.fit`` / ``model.predict``)
- scikeras's ``KerasClassifier`` (skipped if scikeras is not installed)

Prints medians over ``--repeats`` runs and each time as a ratio to skdeep's.

    python benchmarks/bench_core.py [--rows 5000] [--epochs 10] [--repeats 3]
"""

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402


def _timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _keras_net(n_features, n_classes):
    import keras

    return keras.Sequential([
        keras.Input((n_features,)),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    X, y = make_classification(n_samples=args.rows, n_features=args.features,
                               n_informative=10, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    n_classes = 3
    one, thousand = X[:1], X[:1000]
    common = dict(epochs=args.epochs, batch_size=args.batch_size)

    import keras
    from sklearn.neural_network import MLPClassifier as SkMLP

    from skdeep import MLPClassifier

    def skdeep_fit():
        return MLPClassifier((100,), early_stopping=False, tol=0.0,
                             patience=args.epochs, random_state=0, **common).fit(X, y)

    def sklearn_fit():
        return SkMLP((100,), max_iter=args.epochs, batch_size=args.batch_size,
                     tol=0.0, n_iter_no_change=args.epochs, random_state=0).fit(X, y)

    def keras_fit():
        net = _keras_net(X.shape[1], n_classes)
        net.compile("adam", "sparse_categorical_crossentropy")
        net.fit(X, y, verbose=0, **common)
        return net

    peers = {"skdeep": (skdeep_fit, "predict"),
             "scikit-learn": (sklearn_fit, "predict"),
             "keras": (keras_fit, "keras")}
    try:
        from scikeras.wrappers import KerasClassifier as ScikerasClassifier

        def scikeras_fit():
            return ScikerasClassifier(
                model=lambda: _keras_net(X.shape[1], n_classes),
                loss="sparse_categorical_crossentropy", optimizer="adam",
                verbose=0, random_state=0, **common).fit(X, y)

        peers["scikeras"] = (scikeras_fit, "predict")
    except ImportError:
        print("scikeras not installed: skipped")

    results = {}
    for name, (fit, how) in peers.items():
        fit()  # warm-up: imports, first tracing of the framework
        fit_s = _timed(fit, args.repeats)
        model = fit()
        if how == "keras":
            def predict(rows, model=model):
                return model.predict(rows, verbose=0)
        else:
            predict = model.predict
        predict(one)
        p1 = _timed(lambda predict=predict: predict(one), max(20, args.repeats))
        p1000 = _timed(lambda predict=predict: predict(thousand), max(20, args.repeats))
        results[name] = (fit_s, p1, p1000)

    base = results["skdeep"]
    print(f"\n{args.rows} x {args.features}, hidden (100,), {args.epochs} epochs, "
          f"batch {args.batch_size}, keras backend {keras.backend.backend()}, "
          f"median of {args.repeats}")
    print(f"{'':14}{'fit s':>9}{'x skdeep':>10}{'1 row ms':>11}{'x skdeep':>10}"
          f"{'1000 rows ms':>14}{'x skdeep':>10}")
    for name, (f, p1, p1000) in results.items():
        print(f"{name:14}{f:9.3f}{f / base[0]:10.2f}{p1 * 1e3:11.3f}"
              f"{p1 / base[1]:10.2f}{p1000 * 1e3:14.3f}{p1000 / base[2]:10.2f}")


if __name__ == "__main__":
    main()
