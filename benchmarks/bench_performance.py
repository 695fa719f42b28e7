"""Fit, predict, memory and import cost of skdeep against its peers.

Every measurement runs in a fresh process (so backends, warm caches and
memory do not leak between peers); peers are measured in the same run and
reported as ratios, because these machines are shared and noisy. Times are
the median of ``--repeats`` runs after one warm-up run in the same process.

Sections (issue 7's goals in brackets):
  fit-large   50,000 x 50, hidden (100,), 5 epochs, batch 64
              [skdeep <= 1.5x scikit-learn, >= 2.5x faster than scikeras]
  fit-small   2,000 x 20, hidden (100,), 10 epochs, batch 32 [<= 0.5x scikeras]
  predict     1 row and 1,000 rows [<= 0.02x and <= 0.05x scikeras]
  memory      RSS growth per fit over 30 sequential fits [<= 1 MB]
  import      ``import skdeep`` and ``skdeep --help`` (TensorFlow not imported)

``skdeep`` fits reuse the compiled training loop cached by an earlier fit of
the same architecture (as in a search; see ``skdeep/engine/``);
``skdeep-fresh`` sets ``SKDEEP_REUSE_NETWORKS=0`` so that every fit traces a
new one (the cost of the first fit of an architecture in a process).

    python benchmarks/bench_performance.py [--repeats 3] [--sections ...]
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

_WORKER = r'''
import json, os, statistics, sys, time, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")
import numpy as np
from sklearn.datasets import make_classification

section, lib, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
shapes = {"fit-large": (50000, 50, 5, 64), "fit-small": (2000, 20, 10, 32),
          "predict": (2000, 20, 2, 32), "memory": (2000, 20, 2, 32)}
n, d, epochs, batch = shapes[section]
X, y = make_classification(n_samples=n, n_features=d, n_informative=min(d, 10),
                           random_state=0)
X = X.astype(np.float32)

def net(meta=None):
    import keras
    return keras.Sequential([keras.Input((d,)),
                             keras.layers.Dense(100, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])

def make():
    if lib.startswith("skdeep"):
        from skdeep import MLPClassifier
        return MLPClassifier((100,), epochs=epochs, batch_size=batch,
                             early_stopping=False, tol=0.0, patience=epochs,
                             random_state=0)
    if lib == "scikit-learn":
        from sklearn.neural_network import MLPClassifier
        return MLPClassifier((100,), max_iter=epochs, batch_size=batch, tol=0.0,
                             n_iter_no_change=epochs, random_state=0)
    if lib == "scikeras":
        from scikeras.wrappers import KerasClassifier
        return KerasClassifier(net, loss="binary_crossentropy", optimizer="adam",
                               epochs=epochs, batch_size=batch, verbose=0,
                               random_state=0)
    if lib == "keras":
        class Raw:
            def fit(self, X, y):
                self.net = net()
                self.net.compile("adam", "binary_crossentropy")
                self.net.fit(X, y, epochs=epochs, batch_size=batch, verbose=0)
                return self
            def predict(self, X):
                return self.net.predict(X, verbose=0)
        return Raw()

def timed(fn, k):
    out = []
    for _ in range(k):
        start = time.perf_counter(); fn(); out.append(time.perf_counter() - start)
    return statistics.median(out)

result = {}
if section in ("fit-large", "fit-small"):
    make().fit(X, y)  # warm-up: imports, runtime start
    result["seconds"] = timed(lambda: make().fit(X, y), repeats)
elif section == "predict":
    model = make().fit(X, y)
    one, thousand = X[:1], X[:1000]
    model.predict(one); model.predict(thousand)
    result["one"] = timed(lambda: model.predict(one), 50)
    result["thousand"] = timed(lambda: model.predict(thousand), 20)
elif section == "memory":
    import gc, resource
    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    for _ in range(5):
        make().fit(X, y)
    gc.collect(); start = rss()
    for _ in range(30):
        make().fit(X, y)
    gc.collect()
    result["mb_per_fit"] = (rss() - start) / 30
print("RESULT" + json.dumps(result))
'''


def _run(section, lib, repeats):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if lib == "skdeep-fresh":  # every fit compiles a new network
        env["SKDEEP_REUSE_NETWORKS"] = "0"
    if lib == "skdeep-jax":
        env["KERAS_BACKEND"] = "jax"
    else:
        env.setdefault("KERAS_BACKEND", "tensorflow")
    proc = subprocess.run([sys.executable, "-c", _WORKER, section, lib, str(repeats)],
                          capture_output=True, text=True, env=env, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT"):])
    raise RuntimeError(f"{section}/{lib} failed:\n{proc.stderr[-2000:]}")


def _have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def _import_cost():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    code = ("import sys, time; t = time.perf_counter(); import skdeep; "
            "print(time.perf_counter() - t, 'tensorflow' in sys.modules)")
    secs, tf_loaded = subprocess.run([sys.executable, "-c", code], env=env,
                                     capture_output=True, text=True).stdout.split()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "skdeep.cli", "--help"], env=env,
                   capture_output=True, check=True)
    help_s = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], env=env,
                   capture_output=True, check=True)
    tf_s = time.perf_counter() - start
    return float(secs), tf_loaded == "True", help_s, tf_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sections", nargs="+",
                        default=["fit-large", "fit-small", "predict", "memory",
                                 "import"])
    args = parser.parse_args(argv)
    libs = ["skdeep", "skdeep-fresh", "scikit-learn", "keras"]
    if _have("scikeras"):
        libs.append("scikeras")
    if _have("jax"):
        libs.insert(1, "skdeep-jax")
    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"median of {args.repeats}; ratios are to skdeep (TensorFlow backend)")

    for section in ("fit-large", "fit-small"):
        if section not in args.sections:
            continue
        times = {lib: _run(section, lib, args.repeats)["seconds"] for lib in libs}
        print(f"\n{section}: fit seconds")
        for lib, secs in times.items():
            print(f"  {lib:14}{secs:8.3f} s  {secs / times['skdeep']:6.2f}x")
    if "predict" in args.sections:
        res = {lib: _run("predict", lib, args.repeats) for lib in libs}
        print("\npredict: 1 row / 1,000 rows")
        base = res["skdeep"]
        for lib, r in res.items():
            print(f"  {lib:14}{r['one'] * 1e3:8.3f} ms {r['one'] / base['one']:7.3f}x"
                  f"  {r['thousand'] * 1e3:8.3f} ms "
                  f"{r['thousand'] / base['thousand']:7.3f}x")
    if "memory" in args.sections:
        print("\nmemory: RSS growth per fit over 30 sequential fits")
        for lib in libs:
            print(f"  {lib:14}{_run('memory', lib, 1)['mb_per_fit']:8.2f} MB")
    if "import" in args.sections:
        secs, tf_loaded, help_s, tf_s = _import_cost()
        print(f"\nimport skdeep: {secs:.2f} s (TensorFlow imported: {tf_loaded}); "
              f"skdeep --help: {help_s:.2f} s; import tensorflow alone: {tf_s:.2f} s")


if __name__ == "__main__":
    main()
