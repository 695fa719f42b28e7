"""Epoch time and peak memory: training from memory, a memmap, and Parquet.

The same data (``--rows`` x ``--cols`` float32, binary target) trains an
``MLPClassifier`` (one hidden layer of 16 units, batch 1024, no early
stopping) for ``--epochs`` epochs, once with X in memory (the whole-fit
compiled loop), once with X as ``np.load(path, mmap_mode="r")`` and once
with X as ``dask.dataframe.read_parquet`` of a folder written from the same
data (``--partition`` rows per file, read partition by partition on Dask's
threads), each in its own process. Both streamed kinds train on the
compiled loop chunk by chunk (``skdeep.engine.loop_chunks``: about 2 MB of
whole batches per traced call, read ahead in a background thread; the
Parquet partitions' rows are counted from the files' metadata). Reported:
the time of one epoch (the fit's time divided by its epochs, after a
one-epoch warm-up fit that traces the network; the page cache is warm) and
the peak growth of anonymous memory (``RssAnon``, not mapped file pages)
during the fit, over the process's memory just before it. With
``--repeat R`` the three kinds run in turn R times and the median of each
is reported, and the median of the ratios within each turn (on a shared
machine the load changes between runs).

Run: ``python benchmarks/bench_streaming.py [--rows 1000000 --cols 32]
[--repeat 3]``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, sys, threading, time
import numpy as np

def anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024

kind, path, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
X = np.load(path, mmap_mode="r")
if kind == "memory":
    X = np.array(X)
elif kind == "parquet":
    import dask.dataframe as dd

    X = dd.read_parquet(path + ".parquet")
y = (X[:, 0] > 0).astype(np.int8) if kind == "memory" else np.load(path + ".y.npy")
from skdeep import MLPClassifier

def model(n_epochs):
    return MLPClassifier(hidden_layer_sizes=(16,), batch_size=1024,
                         epochs=n_epochs, early_stopping=False, random_state=0)

model(1).fit(X[:4096] if kind == "memory" else X, y[:4096] if kind == "memory"
             else y)  # warm-up: traces, reads the file once
peak, done = [0], threading.Event()

def watch():
    while not done.is_set():
        peak[0] = max(peak[0], anon())
        time.sleep(0.01)

base = anon()
threading.Thread(target=watch, daemon=True).start()
t0 = time.perf_counter()
model(epochs).fit(X, y)
seconds = time.perf_counter() - t0
done.set()
print(json.dumps({"epoch_s": seconds / epochs,
                  "peak_growth_mb": (max(peak[0], anon()) - base) / 2**20}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--partition", type=int, default=100_000,
                        help="rows per Parquet file (Dask partition)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each kind, in turn (the median is shown)")
    args = parser.parse_args()
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.npy")
        X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                      shape=(args.rows, args.cols))
        rng = np.random.default_rng(0)
        for start in range(0, args.rows, 100_000):
            stop = min(start + 100_000, args.rows)
            X[start:stop] = rng.standard_normal((stop - start, args.cols),
                                                dtype=np.float32)
        np.save(path + ".y.npy", (X[:, 0] > 0).astype(np.int8))
        X.flush()
        del X
        import dask.dataframe as dd

        X = np.load(path, mmap_mode="r")
        columns = [f"x{i}" for i in range(args.cols)]
        dd.from_array(X, chunksize=args.partition, columns=columns).to_parquet(
            path + ".parquet", write_index=False)
        del X
        runs = {"memory": [], "memmap": [], "parquet": []}
        for _ in range(args.repeat):
            for kind, kept in runs.items():
                out = subprocess.run(
                    [sys.executable, "-c", _CHILD, kind, path, str(args.epochs)],
                    capture_output=True, text=True,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                if out.returncode:
                    raise RuntimeError(
                        f"The {kind} run failed:\n{out.stderr[-3000:]}")
                kept.append(json.loads(out.stdout.strip().splitlines()[-1]))
    results = {kind: {key: float(np.median([r[key] for r in kept]))
                      for key in kept[0]} for kind, kept in runs.items()}
    print(f"{args.rows:,} x {args.cols} float32, batch 1024, MLP (16,)")
    for kind, r in results.items():  # ratios within each turn, then the median
        ratio = float(np.median([a["epoch_s"] / m["epoch_s"] for a, m in
                                 zip(runs[kind], runs["memory"], strict=True)]))
        print(f"  {kind:7s} epoch {r['epoch_s']:6.2f} s ({ratio:.2f}x memory)   "
              f"peak anonymous memory +{r['peak_growth_mb']:.0f} MB")


if __name__ == "__main__":
    main()
