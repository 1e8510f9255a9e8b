"""Model configurations: the config files of `gfe tune` (``best_config.json``) and the
``MODEL.NAME=VALUE`` parameters of the command line, merged into one model → parameters mapping."""

from __future__ import annotations

import json
from pathlib import Path

from gfe.errors import GfeError
from gfe.models import make_model

CONFIG_FORMAT = "gfe-model-config/1"
# What `gfe train` trains when no --model/--config says: (model, feature spec, parameters), the
# causal configuration with the best validation F1 over the four honest protocols in the ablation
# (docs/ablation.md; tests/test_ablation.py checks it against benchmarks/results/ablation.json).
TRAIN_DEFAULT: tuple[str, str, dict] = ("shared-lstm", "aligned", {"augment": 0.5})


def model_config(model: str, params: dict, features: str, source: dict | None = None) -> dict:
    """The config file that `gfe train --config` and `gfe benchmark --config` read."""
    return {
        "format": CONFIG_FORMAT,
        "model": model,
        "features": features,
        "params": params,
        "source": source or {},
    }


def read_model_config(path: str | Path) -> dict:
    """Load and check a model config file; a clear error names the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise GfeError(f"{path}: config file not found; pass the best_config.json that `gfe tune` wrote")
    try:
        cfg = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise GfeError(
            f"{path}: not a JSON config file ({exc}); pass the best_config.json of `gfe tune`"
        ) from None
    if not isinstance(cfg, dict) or cfg.get("format") != CONFIG_FORMAT:
        raise GfeError(f'{path}: not a gfe model config (expected "format": "{CONFIG_FORMAT}")')
    for key, kind in (("model", str), ("params", dict), ("features", str)):
        if not isinstance(cfg.get(key), kind):
            raise GfeError(f"{path}: field {key!r} missing or not a {kind.__name__}")
    try:
        make_model(cfg["model"], **cfg["params"])
    except GfeError as exc:
        raise GfeError(f"{path}: {exc}") from None
    return cfg


def parse_value(raw: str):
    """A command-line value: JSON numbers, true/false/null (any case), else the string itself."""
    try:
        return json.loads(raw.lower() if raw.lower() in ("true", "false", "null") else raw)
    except ValueError:
        return raw


def parse_params(items: list[str], model: str | None = None) -> dict[str, dict]:
    """``MODEL.NAME=VALUE`` strings → {model: {name: value}}. With ``model``, a bare ``NAME=VALUE``
    is for that model and a parameter for another model is an error."""
    params: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if model is not None and "." not in key:
            key = f"{model}.{key}"
        owner, dot, name = key.partition(".")
        if not sep or not dot or not owner or not name:
            example = "hidden=128" if model else "seq-lstm.hidden=128"
            raise GfeError(
                f"--param {item!r}: write it as {'NAME' if model else 'MODEL.NAME'}=VALUE, e.g. {example}"
            )
        params.setdefault(owner, {})[name] = parse_value(raw)
    if model is not None and set(params) - {model}:
        raise GfeError(
            f"--param for model(s) {', '.join(sorted(set(params) - {model}))}, but this trains {model!r}"
        )
    return params


def config_name(path: str | Path) -> str:
    """The name a config file gives its grid entry: the file's stem, or the name of the tune run
    folder for a ``best_config.json``."""
    path = Path(path)
    return path.parent.resolve().name if path.stem == "best_config" else path.stem


def merge_configs(config_files: list[Path], params: list[str], features: str) -> tuple[dict, dict, list[str]]:
    """Config files and ``--param`` strings → (entry → parameters, entry → source file, warnings).

    A config file's model enters the grid as ``MODEL@NAME`` (:func:`config_name`, e.g.
    ``seq-lstm@topics-seq-lstm-chrono``), so tables say which configuration produced a column; ``--param``
    for ``MODEL`` applies to the plain model and to every ``MODEL@…`` entry of it."""
    entries: dict[str, dict] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    for path in config_files:
        mc = read_model_config(path)
        entry = f"{mc['model']}@{config_name(path)}"
        if entry in entries:
            raise GfeError(
                f"{path}: a second config named {config_name(path)!r} for {mc['model']!r}; rename one"
            )
        if mc["features"] != features:
            warnings.append(f"{path} was tuned with --features {mc['features']}, this run uses {features}")
        entries[entry], sources[entry] = dict(mc["params"]), str(path)
    for model, p in parse_params(params).items():
        targets = [e for e in entries if e.split("@")[0] == model] or [model]
        for e in targets:
            entries.setdefault(e, {}).update(p)
    return entries, sources, warnings


def train_settings(
    config: Path | None, model: str | None, features: str | None, params: list[str]
) -> tuple[str, str, dict]:
    """What `gfe train` trains: (model, feature spec, parameters) from an optional config file
    (``--config``), ``--model``/``--features`` (defaults: `TRAIN_DEFAULT`, whose parameters apply
    only when the model is the default one too) and ``--param`` overrides."""
    merged: dict = {}
    if config is not None:
        cfg = read_model_config(config)
        if model is not None and model != cfg["model"]:
            raise GfeError(f"{config}: the config is for model {cfg['model']!r}, not --model {model}")
        model, features, merged = cfg["model"], features or cfg["features"], dict(cfg["params"])
    elif model is None:
        model, merged = TRAIN_DEFAULT[0], dict(TRAIN_DEFAULT[2])
    features = features or TRAIN_DEFAULT[1]
    merged.update(parse_params(params, model).get(model, {}))
    return model, features, merged
