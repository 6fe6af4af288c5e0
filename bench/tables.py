"""Tables as they come: the dev metric with the old one-hot loader and with the new defaults,
and what the preparation costs per 10,000 rows, side by side in one run.

Three generated tables (seeded, nothing downloaded) with the traits of the CSV files people
bring (issue 16):

* ``weather`` (binary): 1461 days as ISO date strings whose season and year carry most of the
  signal, a station-name column (almost every value distinct), numeric columns with missing
  values and a cloud-cover category with missing values; target ``rain``.
* ``cars`` (regression): 392 cars with a ``Name`` string (301 distinct values), a ``Year``
  string such as ``1970-01-01`` whose year carries the signal, numeric columns (a few missing
  horsepowers) and an ``origin`` category; target ``mpg``.
* ``customers`` (multiclass, 4 segments): 3000 rows with an integer row id, a free-text
  comment, categories with rare levels (40 countries, most of them rare), missing values in
  numbers and categories; target ``segment``.

Two ways to make the network's inputs, each split by ``nnexp.data.split`` (dev 0.2, test 0.2,
stratified for classification, standard scaling fitted on the training rows) with the same
seed:

* one-hot (old): what nnexp did before issue 16 (``git show HEAD~3:nnexp/data/files.py``), redone
  here with pandas because that code is gone: every non-numeric column one-hot encoded over
  the whole table (dates and names too: ``pd.get_dummies``), numbers as they are (a row id
  too), and rows with any missing value dropped first (the old loader refused them; dropping
  them is what its users did by hand). Its dev rows are therefore the complete rows only.
* new defaults: ``load_table(frame, target, None, TableSettings(), ...)`` then
  ``split(...)``: roles inferred, the preparation fitted on the training rows.

Both train the same network with nnexp's core: 2 hidden layers of 64 ReLU units, Adam lr 1e-3,
batch 32, a fixed number of epochs (no early stopping), float32, over seeds 0..N-1 (the seed
is the split's and the training's). The dev metric is ``Model.evaluate`` on the dev rows (what
a trial records as ``final_dev_*``): accuracy, or RMSE in the target's units. "trivial" is
the majority class's dev share (the new split), or the dev RMSE of predicting the training
mean.

The cost: each table generated with ``--cost-rows`` rows (10,000), then ``load_table`` (the
roles), ``Preparation.fit`` and ``Preparation.transform`` on all its rows, each the median of
``--repeats`` runs, in seconds per 10,000 rows. ``customers, text: encode`` is the same table
with ``TableSettings(text="encode")``, which encodes the comment (tf-idf + SVD).

    python bench/tables.py                  # 3 tables x 3 seeds, 150 epochs; cost of 10,000 rows
    python bench/tables.py --seeds 5 --epochs 300 --cost-rows 50000 --repeats 7
    python bench/tables.py --tables cars --seeds 2

BLAS is pinned to ``--blas-threads`` (1, like nnexp's workers) with threadpoolctl.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from nnexp.core import TrainConfig, train
from nnexp.data import Dataset, Preparation, TableSettings, infer_task, load_table, split

DEV_SIZE, TEST_SIZE = 0.2, 0.2
HIDDEN = (64, 64)


# ----- the generated tables ---------------------------------------------------------------------

def _with_missing(values: np.ndarray | pd.Series, share: float, rng: np.random.Generator):
    """``values`` as an object or float array with about ``share`` of them missing (NaN)."""
    out = pd.Series(values).astype(object if not np.issubdtype(np.asarray(values).dtype,
                                                               np.number) else float)
    out[rng.random(len(out)) < share] = np.nan
    return out.to_numpy()


def weather(n: int = 1461, seed: int = 0) -> pd.DataFrame:
    """n daily rows from 2012-01-01: ``date`` (ISO strings), ``station`` (names, nearly all
    distinct), ``temp_max``, ``humidity``, ``pressure``, ``wind`` (numbers, 4-8 % missing),
    ``cloud`` (4 levels, 7 % missing) and the binary target ``rain``. Rain follows the season
    (day of year) and a year-to-year swing, a little humidity, pressure and cloud."""
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2012-01-01") + pd.to_timedelta(np.arange(n), unit="D")
    season = np.cos(2 * np.pi * (dates.dayofyear.to_numpy() - 15) / 365.25)  # 1 in January
    year_swing = np.array([0.9, -0.8, 0.5, -1.0, 0.2, -0.4, 0.7, -0.6])
    swing = year_swing[(dates.year.to_numpy() - 2012) % len(year_swing)]
    humidity = 72 + 8 * season + rng.normal(0, 12, n)
    pressure = 1014 + rng.normal(0, 8, n)
    temp = 14 - 9 * season + rng.normal(0, 4, n)
    wind = rng.gamma(2.0, 1.6, n)
    cloud = rng.choice(["clear", "partly cloudy", "overcast", "fog"], n, p=[.35, .3, .25, .1])
    cloud_effect = pd.Series(cloud).map({"clear": -0.5, "partly cloudy": 0.0,
                                         "overcast": 0.6, "fog": 0.2}).to_numpy()
    logit = (2.2 * season + 1.4 * swing + 0.03 * (humidity - 72) - 0.04 * (pressure - 1014)
             + cloud_effect + rng.normal(0, 0.5, n))
    rain = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    first = np.array(["North", "South", "East", "West", "Upper", "Lower", "Old", "New",
                      "Little", "Great", "Red", "Green", "Black", "White", "Stone", "Cedar"])
    second = np.array(["Ridge", "Creek", "Field", "Harbor", "Valley", "Hill", "Lake", "Point",
                       "Falls", "Springs", "Mill", "Bridge", "Park", "Meadow", "Bay", "Wood"])
    station = [f"{a} {b} {k}" for a, b, k in zip(rng.choice(first, n), rng.choice(second, n),
                                                   rng.integers(1, 200, n))]
    return pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d"), "station": station,
        "temp_max": _with_missing(temp.round(1), 0.06, rng),
        "humidity": _with_missing(humidity.round(0), 0.08, rng),
        "pressure": _with_missing(pressure.round(1), 0.05, rng),
        "wind": _with_missing(wind.round(1), 0.04, rng),
        "cloud": _with_missing(cloud, 0.07, rng),
        "rain": rain,
    })


def cars(n: int = 392, seed: int = 0) -> pd.DataFrame:
    """n cars: ``Name`` (about 77 % of the rows distinct), ``Year`` ('1970-01-01' ...
    '1982-01-01'), ``cylinders``, ``displacement``, ``horsepower`` (1.5 % missing),
    ``weight``, ``acceleration``, ``origin`` (USA, Europe, Japan) and the target ``mpg``,
    which rises 0.8 a year and falls with weight (noise sd 2)."""
    rng = np.random.default_rng(seed)
    origin = rng.choice(["USA", "Europe", "Japan"], n, p=[.62, .18, .20])
    usa = origin == "USA"
    cylinders = np.where(usa, rng.choice([4, 6, 8], n, p=[.35, .3, .35]),
                         rng.choice([4, 6], n, p=[.85, .15]))
    displacement = cylinders * rng.normal(42, 6, n)
    horsepower = 0.45 * displacement + rng.normal(25, 10, n)
    weight = 1400 + 7.5 * displacement + rng.normal(0, 250, n)
    acceleration = 21 - horsepower / 25 + rng.normal(0, 1.5, n)
    year = rng.integers(1970, 1983, n)
    mpg = (38 + 0.8 * (year - 1976) - 0.0065 * (weight - 1400) - 0.02 * (horsepower - 80)
           + 1.2 * ~usa + rng.normal(0, 2.0, n))
    brands = ["chevrolet", "ford", "plymouth", "dodge", "amc", "buick", "pontiac", "toyota",
              "datsun", "honda", "mazda", "volkswagen", "peugeot", "fiat", "volvo", "audi",
              "saab", "renault", "opel", "bmw", "mercury", "oldsmobile", "chrysler", "subaru"]
    models = ["malibu", "impala", "nova", "pinto", "maverick", "corolla", "civic", "rx-3",
              "rabbit", "504", "128", "144ea", "100ls", "99le", "12tl", "manta", "2002",
              "monarch", "cutlass", "newport", "dl", "hornet", "gremlin", "fury", "dart",
              "skylark", "catalina", "corona", "510", "accord", "glc", "dasher"]
    trims = ["", " custom", " wagon", " sw", " brougham", " deluxe", " (sw)", " 2.0",
             " gl", " limited", " sport", " coupe"]
    pool = sorted({f"{b} {m}{t}" for b in brands for m in models for t in trims})
    unique = rng.choice(pool, int(0.77 * n), replace=False)
    name = np.concatenate([unique, rng.choice(unique, n - len(unique))])[rng.permutation(n)]
    return pd.DataFrame({
        "Name": name, "Year": [f"{y}-01-01" for y in year], "cylinders": cylinders,
        "displacement": displacement.round(0), "horsepower": _with_missing(
            horsepower.round(0), 0.015, rng), "weight": weight.round(0),
        "acceleration": acceleration.round(1), "origin": origin, "mpg": mpg.round(1),
    })


def customers(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """n customers: ``customer_id`` (1..n), ``age`` (5 % missing), ``tenure_months``,
    ``monthly_spend`` (10 % missing), ``support_calls``, ``plan`` (3 levels, 3 % missing),
    ``country`` (40 levels, most of them rare), ``channel`` (4 levels, 8 % missing), a free-text
    ``comment`` (its words hint at the segment now and then) and the target ``segment`` (4
    classes, drawn from a softmax of the features)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    tenure = rng.integers(0, 120, n)
    spend = rng.lognormal(3.5, 0.6, n)
    calls = rng.poisson(1.5, n)
    plan = rng.choice(["basic", "standard", "premium"], n, p=[.5, .35, .15])
    countries = [f"country_{i:02d}" for i in range(40)]
    share = 1 / np.arange(1, 41) ** 1.6
    country = rng.choice(countries, n, p=share / share.sum())
    region = np.array([i % 3 for i in range(40)])[[int(c[-2:]) for c in country]]
    channel = rng.choice(["web", "store", "phone", "partner"], n, p=[.45, .3, .15, .1])
    classes = np.array(["new", "loyal", "at_risk", "dormant"])
    z_tenure, z_spend = (tenure - 60) / 35, (np.log(spend) - 3.5) / 0.6
    z_calls, z_age = (calls - 1.5) / 1.2, (age - 49) / 18
    plan_fx = pd.Series(plan).map({"basic": 0, "standard": 1, "premium": 2}).to_numpy()
    scores = np.stack([
        -2.5 * z_tenure + 0.3 * (channel == "web"),
        1.5 * z_tenure + 0.8 * plan_fx + 0.5 * z_age,
        1.4 * z_calls - 0.5 * plan_fx + 0.6 * (region == 1),
        -1.2 * z_spend + 0.4 * z_age + 0.6 * (region == 2) - 0.6 * (channel == "partner"),
    ], axis=1) * 1.3
    p = np.exp(scores - scores.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    label = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    hints = {"new": "just signed up", "loyal": "been with you for years",
             "at_risk": "thinking of cancelling", "dormant": "have not used it lately"}
    openings = ["Called about my bill", "Asked about the new offer", "Wrote in after a delay",
                "Chatted with support", "Left a note at the counter", "Replied to the survey"]
    middles = ["the app kept logging me out", "delivery took two weeks", "the price went up",
               "staff were friendly", "the invoice was wrong", "nothing special to report"]
    comment = [f"{rng.choice(openings)}; {rng.choice(middles)}"
               + (f", and I {hints[classes[c]]}" if rng.random() < 0.3 else "")
               + f" (ticket {rng.integers(10000, 99999)})." for c in label]
    return pd.DataFrame({
        "customer_id": np.arange(1, n + 1), "age": _with_missing(age, 0.05, rng),
        "tenure_months": tenure, "monthly_spend": _with_missing(spend.round(2), 0.10, rng),
        "support_calls": calls, "plan": _with_missing(plan, 0.03, rng), "country": country,
        "channel": _with_missing(channel, 0.08, rng), "comment": comment,
        "segment": classes[label],
    })


TABLES = {"weather": (weather, "rain", 1461), "cars": (cars, "mpg", 392),
          "customers": (customers, "segment", 3000)}


# ----- the two ways to make inputs --------------------------------------------------------------

def one_hot_dataset(frame: pd.DataFrame, target: str, name: str) -> tuple[Dataset, int]:
    """The old loader, redone with pandas: rows with any missing value dropped, numeric
    columns as numbers, every other column one-hot over the whole table. (Dataset, rows
    dropped)."""
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns}
    missing = frame.isna()
    for c in frame.columns:
        if numeric[c]:
            missing[c] |= ~np.isfinite(frame[c].to_numpy(dtype=np.float64, na_value=np.nan))
    complete = frame[~missing.any(axis=1).to_numpy()]
    features = complete.drop(columns=target)
    others = [c for c in features.columns if not numeric[c]]
    encoded = pd.get_dummies(features, columns=others, prefix_sep="=", dtype=np.float64)
    y = complete[target].to_numpy()
    dataset = Dataset(name=name, X=encoded.to_numpy(dtype=np.float64), y=y, task=infer_task(y),
                      feature_names=list(encoded.columns), source=f"{name}.csv")
    return dataset, len(frame) - len(complete)


def new_dataset(frame: pd.DataFrame, target: str, name: str,
                settings: TableSettings | None = None) -> Dataset:
    """The new loader with its defaults."""
    return load_table(frame, target, None, settings or TableSettings(), f"'{name}.csv'", 2,
                      name=name, source=f"{name}.csv")


def dev_metric(dataset: Dataset, seed: int, epochs: int) -> dict:
    """Split ``dataset`` with ``seed``, train the network with ``seed``; its dev metric."""
    splits = split(dataset, dev_size=DEV_SIZE, test_size=TEST_SIZE, seed=seed,
                   scale="standard")
    config = TrainConfig(hidden_layers=HIDDEN, activation="relu", init="he", optimizer="adam",
                         learning_rate=1e-3, batch_size=32, epochs=epochs, seed=seed)
    result = train(splits.X_train, splits.y_train, config, splits.X_dev, splits.y_dev,
                   x_shift=splits.scaler.shift, x_scale=splits.scaler.scale)
    scores = result.model.evaluate(splits.X_dev, splits.y_dev, scaled=True)
    if dataset.task == "regression":
        value = scores["rmse"]
        trivial = float(np.sqrt(np.mean((splits.y_dev - splits.y_train.mean()) ** 2)))
    else:
        value = scores["accuracy"]
        labels, train_counts = np.unique(splits.y_train, return_counts=True)
        trivial = float(np.mean(splits.y_dev == labels[train_counts.argmax()]))
    return {"value": value, "trivial": trivial, "features": splits.X_train.shape[1],
            "train_rows": len(splits.y_train), "dev_rows": len(splits.y_dev),
            "seconds": result.seconds}


# ----- the preparation's cost -------------------------------------------------------------------

def cost(frame: pd.DataFrame, target: str, name: str, settings: TableSettings,
         repeats: int) -> dict:
    """Median seconds of load_table (roles), Preparation.fit and .transform on all rows."""
    roles, fits, transforms = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        dataset = new_dataset(frame, target, name, settings)
        t1 = time.perf_counter()
        table = dataset.table
        prep = Preparation.fit(table.columns, table.settings, table.frame)
        t2 = time.perf_counter()
        X = prep.transform(table.frame, f"'{name}.csv'", table.first_line)
        t3 = time.perf_counter()
        roles.append(t1 - t0)
        fits.append(t2 - t1)
        transforms.append(t3 - t2)
    return {"rows": len(frame), "features": X.shape[1], "roles": statistics.median(roles),
            "fit": statistics.median(fits), "transform": statistics.median(transforms)}


# ----- the report -------------------------------------------------------------------------------

def _spread(values: list[float], digits: int) -> str:
    return (f"{statistics.fmean(values):.{digits}f} ({min(values):.{digits}f}-"
            f"{max(values):.{digits}f})")


def metric_table(results: dict[str, dict]) -> list[str]:
    lines = ["| table | rows x columns | dev metric | trivial | one-hot (old): features | "
             "rows dropped | dev rows | dev metric, mean (min-max) | new defaults: features | "
             "dev rows | dev metric, mean (min-max) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        old, new = r["old"], r["new"]
        regression = r["task"] == "regression"
        metric = "RMSE (lower is better)" if regression else "accuracy"
        digits = 2 if regression else 3
        trivial = statistics.fmean(x["trivial"] for x in new)
        better = (statistics.fmean(x["value"] for x in new)
                  < statistics.fmean(x["value"] for x in old)) == regression
        bold = "**" if better else ""
        lines.append(
            f"| {name} ({r['task']}) | {r['shape'][0]} x {r['shape'][1]} | {metric} | "
            f"{trivial:.{digits}f} | {old[0]['features']} | {r['dropped']} | "
            f"{old[0]['dev_rows']} | {_spread([x['value'] for x in old], digits)} | "
            f"{new[0]['features']} | {new[0]['dev_rows']} | "
            f"{bold}{_spread([x['value'] for x in new], digits)}{bold} |")
    return lines


def cost_table(costs: dict[str, dict]) -> list[str]:
    lines = ["| table | rows timed | features | roles (load_table) s / 10k rows | "
             "Preparation.fit s / 10k rows | Preparation.transform s / 10k rows |",
             "|---|---|---|---|---|---|"]
    for name, c in costs.items():
        per = 10_000 / c["rows"]
        lines.append(f"| {name} | {c['rows']:,} | {c['features']} | {c['roles'] * per:.3f} | "
                     f"{c['fit'] * per:.3f} | {c['transform'] * per:.3f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated: "
                        + ",".join(TABLES))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (3)")
    parser.add_argument("--epochs", type=int, default=150, help="epochs per training (150)")
    parser.add_argument("--cost-rows", type=int, default=10_000,
                        help="rows of the tables the preparation is timed on (10000)")
    parser.add_argument("--repeats", type=int, default=5, help="median of N timings (5)")
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads (1)")
    args = parser.parse_args(argv)
    names = args.tables.split(",")
    for name in names:
        if name not in TABLES:
            parser.error(f"--tables: unknown {name!r}; known: {', '.join(TABLES)}")
    if args.seeds < 1 or args.epochs < 1 or args.repeats < 1 or args.cost_rows < 100:
        parser.error("--seeds, --epochs and --repeats must be >= 1, --cost-rows >= 100")

    import sklearn

    command = "python bench/tables.py" + ("" if argv is None and len(sys.argv) == 1
                                          else " " + " ".join(sys.argv[1:] if argv is None
                                                              else argv))
    load = os.getloadavg()
    print(f"{command}\n{os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{args.blas_threads} BLAS thread(s); pandas {pd.__version__}, scikit-learn "
          f"{sklearn.__version__}, NumPy {np.__version__}",
          flush=True)
    results: dict[str, dict] = {}
    costs: dict[str, dict] = {}
    t_start = time.perf_counter()
    with threadpool_limits(limits=args.blas_threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's notes on the columns
        for name in names:
            make, target, rows = TABLES[name]
            frame = make(rows, seed=0)
            old_data, dropped = one_hot_dataset(frame, target, name)
            new_data = new_dataset(frame, target, name)
            r = results[name] = {"task": new_data.task, "shape": frame.shape,
                                 "dropped": dropped, "old": [], "new": []}
            roles = ", ".join(f"{c.name} {c.role}" for c in new_data.table.columns)
            print(f"\n{name}: {frame.shape[0]} rows x {frame.shape[1]} columns, task "
                  f"{new_data.task}; roles: {roles}", flush=True)
            for seed in range(args.seeds):
                for key, data in (("old", old_data), ("new", new_data)):
                    out = dev_metric(data, seed, args.epochs)
                    r[key].append(out)
                    print(f"  seed {seed} {'one-hot (old)' if key == 'old' else 'new defaults'}"
                          f": {out['features']:5d} features, {out['train_rows']} train / "
                          f"{out['dev_rows']} dev rows, dev {out['value']:.4f} (trivial "
                          f"{out['trivial']:.4f}), {out['seconds']:.1f} s", flush=True)
        print(f"\npreparation cost, {args.cost_rows:,} rows, median of {args.repeats}",
              flush=True)
        timed = [(name, name, TableSettings()) for name in names]
        if "customers" in names:
            timed.append(("customers, text: encode", "customers", TableSettings(text="encode")))
        for label, name, settings in timed:
            make, target, _ = TABLES[name]
            frame = make(args.cost_rows, seed=1)
            costs[label] = c = cost(frame, target, name, settings, args.repeats)
            print(f"  {label}: {c['features']} features, roles {c['roles']:.3f} s, fit "
                  f"{c['fit']:.3f} s, transform {c['transform']:.3f} s", flush=True)
    print(f"\nbench wall time {time.perf_counter() - t_start:.0f} s\n")
    print(f"Dev metric over seeds 0-{args.seeds - 1} (2 x 64 ReLU, Adam lr 1e-3, batch 32, "
          f"{args.epochs} epochs; dev {DEV_SIZE}, test {TEST_SIZE}; the better mean in bold):\n")
    print("\n".join(metric_table(results)))
    print(f"\nThe preparation's cost ({args.cost_rows:,} generated rows per table, median of "
          f"{args.repeats}, {args.blas_threads} BLAS thread(s)):\n")
    print("\n".join(cost_table(costs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
