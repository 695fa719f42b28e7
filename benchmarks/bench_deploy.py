"""Deployment: an exported ONNX pipeline against skdeep and scikit-learn.

One dataset (scikit-learn's digits, 1,797 x 64, 10 classes), one pipeline
shape (``StandardScaler`` -> MLP with the same hidden sizes), three ways to
predict, measured in the same run:

- onnxruntime on the file written by ``skdeep.export_onnx`` (float32, and
  quantized ``int8`` / ``int8-weights``), through ``skdeep.export.load_onnx``
  and through a bare ``onnxruntime.InferenceSession``
- skdeep's own ``predict`` (TensorFlow)
- scikit-learn's ``MLPClassifier`` (same hidden sizes)

Prints predict latency for 1 row and 1,000 rows (medians), file sizes, cold
start (fresh Python process to its first prediction, each in its own
process, median of ``--cold-repeats``), accuracy of each file, and each
figure as a ratio to onnxruntime's.

    python benchmarks/bench_deploy.py [--hidden 100] [--epochs 30] [--repeats 200]

Goals (issue 14): onnxruntime's 1-row latency at or below scikit-learn's MLP,
cold start under 1 s.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402


def _timed(fn, repeats):
    fn()  # warm up (first-call allocations, tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


COLD_ONNX = textwrap.dedent("""
    import sys
    import numpy as np
    from skdeep.export import load_onnx
    row = np.load(sys.argv[2])
    load_onnx(sys.argv[1]).predict(row)
    assert "tensorflow" not in sys.modules
""")
COLD_SKDEEP = textwrap.dedent("""
    import sys
    import numpy as np
    import skdeep
    row = np.load(sys.argv[2])
    skdeep.load(sys.argv[1]).predict(row)
""")
COLD_SKLEARN = textwrap.dedent("""
    import sys
    import joblib
    import numpy as np
    row = np.load(sys.argv[2])
    joblib.load(sys.argv[1]).predict(row)
""")


def _cold(code, model_path, row_path, repeats):
    """Wall time from launching a fresh interpreter to its first prediction
    (and exit), median over ``repeats`` processes."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, model_path, row_path],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ms(seconds):
    return f"{seconds * 1e3:9.3f} ms"


def _tabular(args, folder):
    """The same comparison for make_tabular_pipeline on a DataFrame: the
    ONNX graph takes one input per column, fed from the frame by load_onnx."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.neural_network import MLPClassifier as SkMLP

    import skdeep
    from skdeep.export import load_onnx

    frame, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = frame.copy()
    frame["site"] = np.where(np.arange(len(frame)) % 3, "north", "south")
    hidden = tuple(args.hidden)
    ours = skdeep.make_tabular_pipeline(skdeep.MLPClassifier(
        hidden, epochs=args.epochs, early_stopping=False, random_state=0)).fit(
            frame, y)
    theirs = skdeep.make_tabular_pipeline(SkMLP(
        hidden, max_iter=args.epochs, random_state=0)).fit(frame, y)
    path = os.path.join(folder, "tabular.onnx")
    skdeep.export_onnx(ours, path)
    onnx_model = load_onnx(path)
    one, many = frame.iloc[:1], pd_concat_rows(frame, 1000)
    print(f"\nmake_tabular_pipeline on a DataFrame (breast cancer + 1 text "
          f"column, {frame.shape[1]} columns; ratio to onnxruntime)")
    results = {}
    for name, fn in [("onnxruntime (load_onnx)", onnx_model.predict),
                     ("skdeep predict", ours.predict),
                     ("scikit-learn MLP predict", theirs.predict)]:
        results[name] = (_timed(lambda fn=fn: fn(one), args.repeats // 4),
                         _timed(lambda fn=fn: fn(many), max(10, args.repeats // 20)))
    ref1, ref1000 = results["onnxruntime (load_onnx)"]
    for name, (t1, t1000) in results.items():
        print(f"  {name:32s} {_ms(t1)} {t1 / ref1:6.2f}x {_ms(t1000)} "
              f"{t1000 / ref1000:6.2f}x")


def pd_concat_rows(frame, n):
    """The first n rows of the frame repeated as needed."""
    reps = -(-n // len(frame))
    import pandas as pd

    return pd.concat([frame] * reps, ignore_index=True).iloc[:n]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[100],
                        help="hidden layer sizes (default: 100)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=200,
                        help="timed calls per latency figure")
    parser.add_argument("--cold-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import skdeep

    X, y = load_digits(return_X_y=True)
    hidden = tuple(args.hidden)
    print(f"digits {X.shape[0]} x {X.shape[1]}, 10 classes; StandardScaler -> "
          f"MLP hidden {hidden}, {args.epochs} epochs")
    ours = make_pipeline(StandardScaler(), skdeep.MLPClassifier(
        hidden, epochs=args.epochs, early_stopping=False, random_state=0)).fit(X, y)
    theirs = make_pipeline(StandardScaler(), SkMLP(
        hidden, max_iter=args.epochs, random_state=0)).fit(X, y)

    folder = tempfile.mkdtemp(prefix="skdeep-bench-deploy-")
    try:
        _measure(args, ours, theirs, X, y, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _measure(args, ours, theirs, X, y, folder):
    import joblib
    import onnxruntime as ort

    import skdeep
    from skdeep.export import load_onnx

    files = {}
    for scheme in (None, "int8", "int8-weights"):
        path = os.path.join(folder, f"digits-{scheme or 'float32'}.onnx")
        skdeep.export_onnx(ours, path, quantize=scheme)
        files[scheme or "float32"] = path
    skdeep_path = os.path.join(folder, "digits.skdeep")
    skdeep.save(ours, skdeep_path)
    sklearn_path = os.path.join(folder, "digits-sklearn.joblib")
    joblib.dump(theirs, sklearn_path)
    row_path = os.path.join(folder, "row.npy")
    np.save(row_path, X[:1])

    print("\nfile sizes")
    base = os.path.getsize(files["float32"])
    for name, path in files.items():
        size = os.path.getsize(path)
        print(f"  onnx {name:13s} {size / 1024:8.1f} KiB  ({size / base:.2f}x)")
    print(f"  skdeep.save        {os.path.getsize(skdeep_path) / 1024:8.1f} KiB")

    print("\naccuracy on the training data (labels agreeing with skdeep's)")
    reference = ours.predict(X)
    print(f"  skdeep predict      {np.mean(reference == y):.4f}")
    for name, path in files.items():
        labels = load_onnx(path).predict(X)
        print(f"  onnx {name:13s}  {np.mean(labels == y):.4f}  "
              f"({np.mean(labels == reference):.4f} agree)")
    print(f"  scikit-learn MLP    {np.mean(theirs.predict(X) == y):.4f}")

    onnx_model = load_onnx(files["float32"])
    options = ort.SessionOptions()  # as load_onnx: no spinning threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(files["float32"], options,
                                   providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    one, many = X[:1], X[:1000]
    one32, many32 = one.astype(np.float32), many.astype(np.float32)
    rows = {
        "onnxruntime (load_onnx)": (lambda a: onnx_model.predict(a), one, many),
        "onnxruntime (bare session)": (
            lambda a: session.run(["label"], {input_name: a}), one32, many32),
        "onnx int8 (load_onnx)": (load_onnx(files["int8"]).predict, one, many),
        "onnx int8-weights (load_onnx)": (
            load_onnx(files["int8-weights"]).predict, one, many),
        "skdeep predict": (ours.predict, one, many),
        "scikit-learn MLP predict": (theirs.predict, one, many),
    }
    print(f"\npredict latency (median of {args.repeats}; ratio to "
          "onnxruntime (load_onnx))")
    results = {}
    for name, (fn, a1, a1000) in rows.items():
        results[name] = (_timed(lambda fn=fn, a=a1: fn(a), args.repeats),
                         _timed(lambda fn=fn, a=a1000: fn(a),
                                max(10, args.repeats // 10)))
    ref1, ref1000 = results["onnxruntime (load_onnx)"]
    print(f"  {'':32s} {'1 row':>12s} {'ratio':>7s} {'1,000 rows':>12s} "
          f"{'ratio':>7s}")
    for name, (t1, t1000) in results.items():
        print(f"  {name:32s} {_ms(t1)} {t1 / ref1:6.2f}x {_ms(t1000)} "
              f"{t1000 / ref1000:6.2f}x")

    _tabular(args, folder)

    print(f"\ncold start: fresh process to first 1-row prediction (median of "
          f"{args.cold_repeats}, interpreter start included)")
    cold = {
        "onnxruntime (load_onnx)": _cold(COLD_ONNX, files["float32"], row_path,
                                         args.cold_repeats),
        "skdeep.load + predict": _cold(COLD_SKDEEP, skdeep_path, row_path,
                                       args.cold_repeats),
        "scikit-learn joblib.load": _cold(COLD_SKLEARN, sklearn_path, row_path,
                                          args.cold_repeats),
    }
    empty = _cold("pass", "", "", args.cold_repeats)
    ref = cold["onnxruntime (load_onnx)"]
    for name, seconds in cold.items():
        print(f"  {name:32s} {seconds:7.3f} s  {seconds / ref:6.2f}x")
    print(f"  {'(empty python process)':32s} {empty:7.3f} s")

    sk1 = results["scikit-learn MLP predict"][0]
    print("\ngoals")
    print(f"  1-row latency, onnxruntime / scikit-learn: {ref1 / sk1:.2f}x "
          f"({'met' if ref1 <= sk1 else 'NOT met'}: goal <= 1)")
    print(f"  cold start with onnxruntime: {ref:.3f} s "
          f"({'met' if ref < 1.0 else 'NOT met'}: goal < 1 s)")


if __name__ == "__main__":
    main()
