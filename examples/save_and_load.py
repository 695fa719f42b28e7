"""Save a tuned pipeline with metadata, load it back, export the network.

``skdeep.save`` records the library versions and a checksum and writes
atomically; ``skdeep.load`` verifies both. ``export_keras`` writes just the
network in Keras's own format, which loads without running code from the
file.

    python examples/save_and_load.py [--fast]
"""

import argparse
import os
import tempfile

import keras
import numpy as np
from sklearn.datasets import load_diabetes

import skdeep
from skdeep import MLPRegressor, make_tabular_pipeline
from skdeep.persistence import export_keras, read_metadata


def main(fast=False):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    pipe = make_tabular_pipeline(MLPRegressor((32,), epochs=10 if fast else 200,
                                              random_state=0)).fit(X, y)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "diabetes.skdeep")
        skdeep.save(pipe, path, extra={"target": "disease progression"})
        meta = read_metadata(path)
        print("saved with", meta["versions"])
        loaded = skdeep.load(path)
        same = np.array_equal(loaded.predict(X), pipe.predict(X))
        print("identical predictions after loading:", same)

        net_path = export_keras(pipe, os.path.join(tmp, "network.keras"))
        net = keras.saving.load_model(net_path)  # safe_mode=True by default
        features = pipe[:-1].transform(X.head(3))
        print("network output for 3 preprocessed rows:",
              net.predict(features, verbose=0).ravel().round(3))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small budget (tests)")
    main(fast=parser.parse_args().fast)
