"""Build a reference profile from training data and save it, next to the model it describes.

    python examples/build_reference.py [--out model-artifacts]

Trains a ridge regression on scikit-learn's diabetes data (442 patients in raw units: age,
sex, body-mass index, blood pressure and six blood serum measurements; the target is disease
progression after one year), then profiles the training rows with ``mlotel.build_reference``.
The profile's target is the model's own predictions on those rows, so the prediction drift
mlotel reports later compares served predictions with training predictions. Writes:

* ``model.pkl``: the fitted model (pickle: load only files you trust);
* ``reference.json``: the reference profile (format: docs/drift.md), to pass to
  ``@mlotel.monitor(reference=...)`` or ``mlotel drift``;
* ``holdout.csv``: the held-out quarter of the rows, a sample batch for
  ``examples/batch_scoring.py``.

From the command line, ``mlotel profile train.csv -o reference.json`` builds the same kind
of profile from a file, in chunks.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

import mlotel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="model-artifacts", help="output folder (default: model-artifacts)")
    out = Path(parser.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_diabetes(scaled=False, return_X_y=True, as_frame=True)
    X_train, X_holdout, y_train, y_holdout = train_test_split(X, y, test_size=0.25, random_state=0)
    model = Ridge(alpha=1.0).fit(X_train, y_train)

    predictions = model.predict(X_train)
    profile = mlotel.build_reference(X_train, target=predictions)
    profile.save(out / "reference.json")
    with open(out / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    X_holdout.to_csv(out / "holdout.csv", index=False)

    # A saved profile loads back exactly, after checks (a damaged file raises ReferenceProfileError).
    loaded = mlotel.ReferenceProfile.load(out / "reference.json")
    print(f"trained on {len(X_train)} rows; held-out R^2 {model.score(X_holdout, y_holdout):.2f}")
    print(f"reference profile of {len(loaded.features)} features: {', '.join(loaded.features)}")
    for name, feature in loaded.features.items():
        m = feature.moments
        print(f"  {name:4} n={m.count} mean={m.mean:.4g} std={m.std:.3g} min={m.min:.4g} max={m.max:.4g}")
    print(f"wrote {out / 'reference.json'}, {out / 'model.pkl'} and {out / 'holdout.csv'}")


if __name__ == "__main__":
    main()
