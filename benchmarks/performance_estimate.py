"""mlotel's label-free performance estimate next to NannyML's CBPE, on the same model outputs.

    python benchmarks/performance_estimate.py [--chunk 2000] [--install]

A scikit-learn ``LogisticRegression`` is trained on a logistic world (``P(y | x)`` fixed,
so a shift of ``x`` is a pure covariate shift, CBPE's assumption); the reference set is
a fresh sample of the same world; the analysis chunks are drawn with ``x`` shifted along
the decision direction (rows move away from or towards the boundary) or with a narrower
spread (rows crowd the boundary). A second scenario breaks the assumption: the chunks
are selected on a feature the model does not use correctly (``make_classification``
data, selection by ``exp(a x_0)``), so ``P(y | score)`` changes.

For every chunk both estimators get the same predicted probabilities, predicted labels
and reference labels: mlotel's (``mlotel.performance``, the code the monitor runs) in
this process, NannyML's ``CBPE`` (isotonic calibration, chunk_size = the chunk) in the
interpreter ``$NANNYML_PYTHON`` (default ``/tmp/nml-venv/bin/python``; ``--install``
creates that venv with ``pip install nannyml statsmodels`` when it is missing; else the
NannyML columns are skipped). Printed per chunk: the realized accuracy / ROC AUC / F1, and
each estimate with its band (mlotel: the stated error; NannyML: 3 sampling errors, its
confidence band); then the mean absolute error and how often the band held the realized
value.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from mlotel.performance import aggregate, estimate, fit_calibration

METRICS = ("accuracy", "roc_auc", "f1")
D = 6


def logistic_world(chunk: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(D, D))
    cov = a @ a.T / D + 0.5 * np.eye(D)
    beta = np.array([1.5, -1.0, 0.8, 0.0, 0.5, -0.3])
    direction = cov @ beta / np.sqrt(beta @ cov @ beta)

    def draw(n, shift=0.0, scale=1.0):
        X = rng.multivariate_normal(shift * direction, cov * scale**2, n)
        y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta - 0.2)))).astype(int)
        return X, y

    model = LogisticRegression(max_iter=1000).fit(*draw(10_000))
    reference = draw(10_000)
    specs = [(0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (2.0, 1.0), (-1.5, 1.0), (0.0, 0.4), (0.0, 0.2), (1.0, 0.5)]
    chunks = [(f"shift {s:+.1f} sd, spread x{k}", *draw(chunk, s, k)) for s, k in specs]
    return model, reference, chunks


def selection_world(chunk: int, seed: int = 0):
    X, y = make_classification(
        n_samples=80_000, n_features=8, n_informative=4, n_redundant=2, flip_y=0.05,
        class_sep=0.8, random_state=seed,
    )  # fmt: skip
    model = LogisticRegression(max_iter=1000).fit(X[:10_000], y[:10_000])
    reference = X[10_000:20_000], y[10_000:20_000]
    pool_X, pool_y = X[20_000:], y[20_000:]
    rng = np.random.default_rng(seed)
    chunks = []
    for a in (0.0, 1.0, 2.0, -2.0):
        w = np.exp(a * pool_X[:, 0])
        index = rng.choice(len(pool_y), chunk, replace=False, p=w / w.sum())
        chunks.append((f"selected by exp({a:+.0f} x0)", pool_X[index], pool_y[index]))
    return model, reference, chunks


NANNYML_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np, pandas as pd
    warnings.filterwarnings("ignore")
    from nannyml.performance_estimation.confidence_based import CBPE
    data = np.load(sys.argv[1])
    chunk = int(sys.argv[2])
    def frame(prefix):
        return pd.DataFrame({"p": data[prefix + "_p"], "pred": data[prefix + "_pred"], "y": data[prefix + "_y"]})
    reference, analysis = frame("ref"), frame("cur")
    cbpe = CBPE(y_pred_proba="p", y_pred="pred", y_true="y", problem_type="classification_binary",
                metrics=["accuracy", "roc_auc", "f1"], chunk_size=chunk)
    cbpe.fit(reference)
    df = cbpe.estimate(analysis.drop(columns=["y"])).to_df()
    df = df[df[("chunk", "period")] == "analysis"]  # the results also hold the reference's chunks
    assert len(df) == len(analysis) // chunk, len(df)
    out = {}
    for metric in ["accuracy", "roc_auc", "f1"]:
        out[metric] = {"value": df[(metric, "value")].tolist(), "sampling_error": df[(metric, "sampling_error")].tolist()}
    print(json.dumps(out))
    """
)


def nannyml_python(install: bool) -> str | None:
    python = os.environ.get("NANNYML_PYTHON", "/tmp/nml-venv/bin/python")
    if os.path.exists(python):
        return python
    if not install:
        return None
    venv = os.path.dirname(os.path.dirname(python))
    print(f"creating {venv} with nannyml (pip) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "nannyml", "statsmodels"], check=True)
    return python


def run_nannyml(python: str, ref_p, ref_y, chunks, chunk: int) -> dict:
    cur_p = np.concatenate([p for _, p, _ in chunks])
    cur_y = np.concatenate([y for _, _, y in chunks])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(
            path,
            ref_p=ref_p, ref_pred=(ref_p > 0.5).astype(int), ref_y=ref_y,
            cur_p=cur_p, cur_pred=(cur_p > 0.5).astype(int), cur_y=cur_y,
        )  # fmt: skip
        script = os.path.join(tmp, "cbpe.py")
        with open(script, "w") as f:
            f.write(NANNYML_SCRIPT)
        done = subprocess.run([python, script, path, str(chunk)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(title: str, world, chunk: int, python: str | None) -> None:
    model, (X_ref, y_ref), raw_chunks = world
    ref_p = model.predict_proba(X_ref)[:, 1]
    calibration = fit_calibration(ref_p, y_ref)
    chunks = [(name, model.predict_proba(X)[:, 1], y) for name, X, y in raw_chunks]
    nml = run_nannyml(python, ref_p, y_ref, chunks, chunk) if python else None
    print(
        f"\n## {title} (chunks of {chunk} rows; reference {len(y_ref)} rows, ECE {calibration.calibration_error:.3f})\n"
    )
    header = "| chunk | metric | realized | mlotel estimate ± error | NannyML CBPE ± 3 SE |"
    print(header)
    print("|" + "---|" * 5)
    stats = {m: {"mlotel": [], "nannyml": []} for m in METRICS}
    gaps = {m: [] for m in METRICS}
    for i, (name, p, y) in enumerate(chunks):
        predicted = (p > 0.5).astype(int)
        truth = {
            "accuracy": accuracy_score(y, predicted),
            "roc_auc": roc_auc_score(y, p),
            "f1": f1_score(y, predicted),
        }
        ours = {e.metric: e for e in estimate(calibration, aggregate(calibration, p))}
        for metric in METRICS:
            e = ours[metric]
            cell = "skipped"
            stats[metric]["mlotel"].append(
                (abs(e.value - truth[metric]), abs(e.value - truth[metric]) <= e.error)
            )
            if nml is not None:
                value = nml[metric]["value"][i]
                band = 3 * nml[metric]["sampling_error"][i]
                cell = f"{value:.3f} ± {band:.3f}"
                stats[metric]["nannyml"].append(
                    (abs(value - truth[metric]), abs(value - truth[metric]) <= band)
                )
                gaps[metric].append(abs(value - e.value))
            print(f"| {name} | {metric} | {truth[metric]:.3f} | {e.value:.3f} ± {e.error:.3f} | {cell} |")
    print(
        "\n| metric | mlotel mean abs error | mlotel band held | NannyML mean abs error | NannyML band held "
        "| max abs(mlotel - NannyML) |"
    )
    print("|---|---|---|---|---|---|")
    for metric in METRICS:
        row = [metric]
        for who in ("mlotel", "nannyml"):
            values = stats[metric][who]
            if values:
                row += [
                    f"{np.mean([v[0] for v in values]):.4f}",
                    f"{sum(v[1] for v in values)}/{len(values)}",
                ]
            else:
                row += ["-", "-"]
        row.append(f"{max(gaps[metric]):.2g}" if gaps[metric] else "-")
        print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--install", action="store_true", help="create the NannyML venv when missing")
    args = parser.parse_args(argv)
    python = nannyml_python(args.install)
    if python is None:
        print("NannyML: skipped (no $NANNYML_PYTHON / /tmp/nml-venv; run with --install to create it)")
    compare("Covariate shift (CBPE's assumption holds)", logistic_world(args.chunk), args.chunk, python)
    compare(
        "Selection on a misused feature (P(y | score) changes)",
        selection_world(args.chunk),
        args.chunk,
        python,
    )


if __name__ == "__main__":
    main()
