"""Bundles made by earlier gfe versions still load and label exactly as they did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gfe.data.synthetic import make_recording
from gfe.deploy import BundleError, label_recording, load_bundle
from gfe.deploy.bundle import FORMAT_VERSION

V1 = Path(__file__).parent / "fixtures" / "bundles-v1"
EXPECTED = json.loads((V1 / "expected.json").read_text())


@pytest.mark.parametrize("model", sorted(EXPECTED["probability"]))
def test_a_format_1_bundle_loads_and_labels_as_before(model):
    bundle = load_bundle(V1 / model)
    assert bundle.config["format_version"] == 1 and bundle.model == model
    ts, lm, _ = make_recording(EXPECTED["recording"]["n_frames"], seed=EXPECTED["recording"]["seed"])
    got = label_recording(bundle, ts, lm).probability
    np.testing.assert_allclose(got, np.array(EXPECTED["probability"][model], dtype=float), atol=1e-9)


def test_a_newer_format_is_refused_with_the_fix(tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(V1 / "mlp", folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["format_version"] = FORMAT_VERSION + 1
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match=r"newer than this gfe reads.*upgrade gfe"):
        load_bundle(folder)


def test_saving_writes_the_current_format(tmp_path):
    bundle = load_bundle(V1 / "mlp")
    bundle.save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "config.json").read_text())["format_version"] == FORMAT_VERSION
    assert load_bundle(tmp_path / "again").model == "mlp"
