"""Config files read for `nstr fit --config`: a run's config.json, hand-written YAML and JSON, and their errors."""

from __future__ import annotations

import json

import pytest

from nstr.core.errors import NstrError
from nstr.signals import Audio, Image
from nstr.train.fit_config import read_fit_config


def test_a_hand_written_yaml_with_short_forms(tmp_path):
    path = tmp_path / "fit.yaml"
    path.write_text("signal: camera\nmodel: siren\nfit:\n  steps: 500\n  lr: 1e-4\n  max_seconds: 30\n")
    config = read_fit_config(path)
    assert config.signal == {"source": "camera"} and config.kind() is Image and not config.recorded
    assert config.model == "siren" and config.model_options == {}
    # YAML 1.1 reads 1e-4 as text: taken for the number it is; an int for a float option becomes a float
    assert config.fit == {"steps": 500, "lr": 1e-4, "max_seconds": 30.0}
    assert config.device is None


def test_a_hand_written_json_with_options_and_a_file_beside_it(tmp_path):
    (tmp_path / "clip.wav").write_bytes(b"")  # only its name matters here: the kind comes from the suffix
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"signal": {"source": "clip.wav"}, "model": {"name": "siren", "options": {"omega0": 3}},
                                "environment": {"device": "cpu"}}))
    config = read_fit_config(path)
    assert config.source() == str(tmp_path / "clip.wav") and config.kind() is Audio
    assert config.options_for("siren") == {"omega0": 3.0} and config.device == "cpu"


def test_an_empty_file_is_an_empty_config(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    config = read_fit_config(path)
    assert config.signal is None and config.model is None and config.fit == {}


def test_a_run_spec_is_kept_whole_for_its_kind_to_rebuild(tmp_path):
    spec = {"kind": "image", "source": "source.npy", "resize": None, "noise": 0.0, "noise_seed": 0,
            "format": {"height": 4}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"signal": spec, "fit": {"steps": 3}, "nstr_version": "0.1.0", "fresh": {}}))
    config = read_fit_config(path)
    assert config.recorded and config.signal == spec and config.source() == "source.npy"


@pytest.mark.parametrize("text,phrase", [
    ("fit: {steps: 2.5}", "fit: steps must be int or null, got 2.5"),
    ("fit: {compile: 1}", "fit: compile must be bool, got 1"),
    ("fit: {holdout: many}", "fit: holdout must be float, got 'many'"),
    ("fit: {steps: true}", "fit: steps must be int or null, got True"),
    ("fit: 3", "fit must be a mapping"),
    ("model: {name: siren, layer: 3}", "model has unknown key(s) layer"),
    ("model: {options: {hidden: 3}}", "model options need the model's name"),
    ("model: {name: 7}", "model name must be text"),
    ("signal: {source: 3}", "signal needs a source"),
    ("signal: {source: camera, resize: 8x8, noise: lots}", "signal options of image: noise must be float"),
    ("environment: {device: 0}", "environment device must be text"),
    ("other: 1", "unknown key(s) other; a config has signal, model, fit, environment"),
])
def test_bad_content_is_a_one_line_error_naming_the_file(tmp_path, text, phrase):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(NstrError) as error:
        read_fit_config(path)
    assert phrase in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)


def test_model_options_are_checked_as_options_of_the_model_fitted(tmp_path):
    path = tmp_path / "fit.yaml"
    path.write_text("model: {name: siren, options: {hidden: 32, sigma: 3}}")
    with pytest.raises(NstrError, match=r"model options of siren: unknown key\(s\) sigma"):
        read_fit_config(path).options_for("siren")
