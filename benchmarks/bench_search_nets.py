"""Importable build function for the scikeras runs of bench_search.py.

(Worker processes unpickle the estimator, so its build function must live in
a module, not in a ``-c`` script.)
"""


def scikeras_net(meta, hidden=32):
    import keras

    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])
