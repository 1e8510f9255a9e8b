"""Model bundles: a trained model saved as a self-describing folder — the format and its validation.

A bundle folder holds two files:

* ``weights.safetensors`` — the module's tensors (float32), no pickled code;
* ``config.json`` — everything else: model name and hyper-parameters, the feature spec (with its
  ``version``), the normalisation statistics (per training signer and pooled), the scale of the
  delta inputs, the decision threshold, the expression, what the model was trained on (files and
  their sha256, frames used, validation part, training history), package versions, and the sha256
  of the weights file.

:func:`load_bundle` is the one validator that ``gfe predict``, ``gfe stream`` and ``gfe export``
share. It raises :class:`BundleError` (one line naming the bundle and the problem) for a config
that is not a JSON object, is nested absurdly deep, lacks a field or has one of the wrong type or
range, names a model that cannot be bundled or parameters its class refuses, uses a feature spec
that differs from this gfe's spec of the same name, or whose weights file does not match its
checksum (corrupt, truncated or replaced), holds tensors of another name, shape or dtype, or
non-finite values — and for a bundle of another expression than the one asked for. Expected
tensor shapes come from building the model's module on PyTorch's ``meta`` device, so an absurd
size in a crafted config allocates nothing.

A multi-expression model (``Tags.multi_expression``: ``shared-lstm``, ``shared-bilstm``) is one
bundle for all its expressions: ``"expression": "*"`` and the list of its heads in
``"expressions"``; :meth:`Bundle.select` keeps one head.

Format versions: 1 (gfe 0.1) and 2 (this gfe: the same fields plus ``model_tags``); both load.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gfe import EXPRESSIONS
from gfe.deploy.engines import Engine, make_engine, model_inputs
from gfe.errors import GfeError, os_error_message
from gfe.features import SPECS, scale_features
from gfe.outputs import atomic_write_bytes, check_output_folder

FORMAT = "gfe-bundle"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
MAX_CONFIG_BYTES = 16 << 20  # a config.json is a few hundred kB at most
MAX_NESTING = 32  # JSON nesting a config may have (a real one has < 10)
MAX_PARAMETERS = 64 << 20  # weights a bundle may hold (256 MB of float32; real ones hold < 1 MB)

REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "expression": str,
    "model": str,
    "params": dict,
    "causal": bool,
    "n_features": int,
    "n_inputs": int,
    "deltas": bool,
    "delta_scale": (list, type(None)),
    "feature_spec": dict,
    "normalisation": dict,
    "threshold": (int, float),
    "seed": int,
    "training": dict,
    "weights": dict,
    "versions": dict,
}


class BundleError(GfeError):
    """A bundle cannot be used: missing, malformed, corrupt, or made for something else."""


def _fail(where: Path | str, what: str) -> BundleError:
    return BundleError(f"bundle {where}: {what}")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------- bundle
@dataclass
class Bundle:
    """A trained model with everything needed to use it (see the module docstring)."""

    config: dict
    weights: dict[str, np.ndarray]  # name → float32 array, as stored
    path: Path | None = None
    heads: tuple[str, ...] | None = None  # of a multi-expression bundle: the expressions used (None: all)
    _engine: Engine | None = field(default=None, init=False, repr=False)

    # -- what it is
    @property
    def multi(self) -> bool:
        """One model for several expressions (a head each), e.g. ``shared-lstm``."""
        return self.config["expression"] == "*"

    @property
    def expressions(self) -> tuple[str, ...]:
        """The expressions it labels: one, or a multi-expression bundle's (chosen) heads."""
        if not self.multi:
            return (self.config["expression"],)
        return self.heads or tuple(self.config["expressions"])

    @property
    def expression(self) -> str:
        """The expression it labels, or ``"*"`` for a multi-expression bundle using several heads."""
        e = self.expressions
        return e[0] if len(e) == 1 else "*"

    def select(self, expression: str) -> Bundle:
        """The same bundle labelling ``expression`` only (one head of a multi-expression bundle)."""
        expression = _spelled(expression)
        if expression not in self.expressions:
            where = self.path or self.name
            raise _fail(
                where,
                f"detects {', '.join(map(repr, self.expressions))}, not {expression!r} — use the bundle "
                f"trained for {expression!r}",
            )
        if not self.multi:
            return self
        view = Bundle(config=self.config, weights=self.weights, path=self.path, heads=(expression,))
        view._engine = self._engine
        return view

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Model inputs (n, n_inputs) of a whole recording → (n, len(expressions)) probabilities."""
        p = self.engine().run(x)
        return p[:, self.columns()] if self.multi else p[:, None]

    def step(self, x: np.ndarray, state):
        """One frame's model inputs → ((len(expressions),) probabilities, new state)."""
        p, state = self.engine().step(x, state)
        return (p[self.columns()] if self.multi else np.array([p])), state

    def columns(self) -> list[int]:
        """Which outputs of a multi-expression model are :attr:`expressions`."""
        if not self.multi:
            return [0]
        heads = list(self.config["expressions"])
        return [heads.index(e) for e in self.expressions]

    @property
    def model(self) -> str:
        return self.config["model"]

    @property
    def model_class(self):
        from gfe.models import model_class

        return model_class(self.model)

    @property
    def params(self) -> dict:
        return self.config["params"]

    @property
    def causal(self) -> bool:
        return bool(self.config["causal"])

    @property
    def threshold(self) -> float:
        return float(self.config["threshold"])

    @property
    def spec(self):
        """The feature spec (validated at load to equal this gfe's spec of that name)."""
        return SPECS[self.config["feature_spec"]["name"]]

    @property
    def feature_state(self):
        """What the spec fitted on the training frames (the aligned face template), or None."""
        return self.spec.state_from_dict(self.config.get("feature_state"))

    @property
    def delta_scale(self) -> np.ndarray | None:
        ds = self.config["delta_scale"]
        return None if ds is None else np.asarray(ds, dtype=np.float64)

    @property
    def signers(self) -> list[str]:
        return list(self.config["normalisation"]["signers"])

    @property
    def name(self) -> str:
        what = self.expression if self.expression != "*" else "all"
        return f"{what}/{self.model}"

    def stats(self, signer: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of a training signer, or pooled over the training signers (``None``)."""
        norm = self.config["normalisation"]
        if signer is None:
            s = norm["pooled"]
        elif signer in norm["signers"]:
            s = norm["signers"][signer]
        else:
            raise BundleError(
                f"bundle {self.name} has no statistics for signer {signer!r}; it was trained on "
                f"signer(s) {', '.join(norm['signers'])} — omit the signer to use pooled statistics, "
                "or calibrate on the recording"
            )
        return np.asarray(s["mean"], dtype=np.float64), np.asarray(s["std"], dtype=np.float64)

    # -- running it
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(
                self.model_class.tags.engine, self.weights, self.params, module=self.torch_module,
                causal=self.causal, n_inputs=self.config["n_inputs"],
                outputs=len(self.config["expressions"]) if self.multi else None,
            )  # fmt: skip
        return self._engine

    def inputs(self, features: np.ndarray, usable: np.ndarray, mean: np.ndarray, std: np.ndarray):
        """Unscaled features (n, 118) → the model's float64 inputs (n, n_inputs)."""
        return model_inputs(scale_features(features, mean, std), usable, self.delta_scale)

    def new_model(self, tasks: bool = False):
        """A fresh (untrained) model of the bundle's class and parameters (with ``tasks``, a
        multi-expression model knows its heads, so its module can be built)."""
        from gfe.models import make_model

        model = make_model(self.model, **self.params)
        if tasks and self.multi:
            model.tasks_ = tuple(self.config["expressions"])
        return model

    def torch_module(self):
        """The float32 torch module with the bundle's weights (for export and checks)."""
        import torch

        module = self.new_model(tasks=True).build_module(self.config["n_inputs"])
        state = {k: torch.from_numpy(np.array(v)) for k, v in self.weights.items()}
        module.load_state_dict(state, strict=True)
        return module.eval()

    # -- files
    def save(self, folder: str | Path, force: bool = False) -> Path:
        """Write ``weights.safetensors`` and ``config.json`` into ``folder`` (created). An existing
        bundle there is refused unless ``force``; files are written atomically, 0644 both."""
        from safetensors.numpy import save

        folder = Path(folder)
        check_bundle_target(folder, force)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BundleError(f"--out {folder}: cannot create it ({os_error_message(exc)})") from None
        tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(self.weights.items())}
        data = save(tensors, metadata={"format": FORMAT})
        self.config["format_version"] = FORMAT_VERSION
        self.config["weights"] = {
            "file": WEIGHTS_NAME,
            "sha256": _sha256(data),
            "format": "safetensors",
            "dtype": "float32",
            "tensors": {k: list(v.shape) for k, v in tensors.items()},
        }
        _write_atomic(folder / WEIGHTS_NAME, data)
        _write_atomic(folder / CONFIG_NAME, (json.dumps(self.config, indent=2) + "\n").encode())
        self.path = folder
        return folder


def check_bundle_target(folder: Path, force: bool) -> None:
    """Refuse to write a bundle over anything but nothing, an empty folder or (with force) a bundle,
    or into a place where no file can be written (checked before any training)."""
    try:
        check_output_folder(folder, "--out", "bundle")
    except GfeError as exc:
        raise BundleError(str(exc)) from None
    if folder.is_dir() and any(folder.iterdir()):
        if not is_bundle(folder):
            raise BundleError(
                f"--out {folder}: holds files that are not a bundle; choose a new or empty folder"
            )
        if not force:
            raise BundleError(
                f"--out {folder}: holds a bundle already; choose another --out, or --force to replace it"
            )


def _write_atomic(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data, mode=0o644)


# ---------------------------------------------------------------------------------- validation
def _depth(obj: Any, limit: int) -> int:
    """Nesting depth of a JSON value, without recursion (a crafted file cannot overflow the stack)."""
    deepest, todo = 0, [(obj, 1)]
    while todo:
        value, d = todo.pop()
        if d > limit:
            return d
        deepest = max(deepest, d)
        if isinstance(value, dict):
            todo += [(v, d + 1) for v in value.values()]
        elif isinstance(value, list):
            todo += [(v, d + 1) for v in value]
    return deepest


def _read_config(folder: Path) -> dict:
    cfg_path = folder / CONFIG_NAME
    try:
        raw = cfg_path.read_bytes()
    except OSError as exc:
        raise _fail(folder, f"{CONFIG_NAME} cannot be read ({exc.strerror}); check its permissions") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise _fail(folder, f"{CONFIG_NAME} is {len(raw) >> 20} MB, far larger than a bundle config; retrain")
    try:
        cfg = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise _fail(folder, f"{CONFIG_NAME} is nested too deeply to be a bundle config; retrain") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(folder, f"{CONFIG_NAME} is not valid JSON ({exc}); retrain with `gfe train`") from None
    if _depth(cfg, MAX_NESTING) > MAX_NESTING:
        raise _fail(folder, f"{CONFIG_NAME} is nested too deeply to be a bundle config; retrain")
    return cfg


def _check_fields(cfg: Any, where: Path) -> None:
    if not isinstance(cfg, dict):
        raise _fail(where, "config.json does not hold a JSON object")
    if cfg.get("format") != FORMAT:
        raise _fail(where, f"config.json is not a gfe bundle config (format {cfg.get('format')!r})")
    for key, kind in REQUIRED.items():
        if key not in cfg:
            raise _fail(where, f"config.json is missing the field {key!r}; retrain with `gfe train`")
        if not isinstance(cfg[key], kind) or (kind is int and isinstance(cfg[key], bool)):
            raise _fail(where, f"config.json field {key!r} has the wrong type ({type(cfg[key]).__name__})")
    if cfg["format_version"] not in READABLE_VERSIONS:
        newer = cfg["format_version"] > FORMAT_VERSION
        raise _fail(
            where,
            f"bundle format version {cfg['format_version']} is "
            + (
                f"newer than this gfe reads ({FORMAT_VERSION}); upgrade gfe"
                if newer
                else "unknown; retrain it"
            ),
        )
    _check_expressions(cfg, where)
    if isinstance(cfg["threshold"], bool) or not 0 < cfg["threshold"] < 1:
        raise _fail(where, f"threshold {cfg['threshold']} is not between 0 and 1")
    for key in ("file", "sha256"):
        if not isinstance(cfg["weights"].get(key), str):
            raise _fail(where, f"config.json is missing the field 'weights.{key}' (a string)")


def _check_expressions(cfg: dict, where: Path) -> None:
    """One known expression, or ``"*"`` with the list of a multi-expression bundle's heads."""
    if cfg["expression"] != "*":
        if cfg["expression"] not in EXPRESSIONS:
            raise _fail(where, f"unknown expression {cfg['expression']!r}")
        return
    heads = cfg.get("expressions")
    if not isinstance(heads, list) or not heads or not all(isinstance(e, str) for e in heads):
        raise _fail(where, "a multi-expression bundle (expression '*') needs the list 'expressions'")
    if any(e not in EXPRESSIONS for e in heads) or len(set(heads)) != len(heads):
        raise _fail(
            where, f"'expressions' must name distinct expressions of {', '.join(EXPRESSIONS)}, got {heads}"
        )


def _check_model(cfg: dict, where: Path):
    """The model class and a model built from the params (its constructor validates them)."""
    from gfe.models import make_model, model_classes, model_names

    bundleable = model_names(lambda c: c.tags.bundle)
    if cfg["model"] not in bundleable:
        known = "unknown model" if cfg["model"] not in model_classes() else "model that cannot be bundled"
        raise _fail(where, f"{known} {cfg['model']!r}; this gfe runs {', '.join(bundleable)}")
    try:
        model = make_model(cfg["model"], **cfg["params"])
    except (GfeError, TypeError, ValueError) as exc:
        raise _fail(where, f"bad model parameters: {exc}; retrain with `gfe train`") from None
    if model.tags.multi_expression != (cfg["expression"] == "*"):
        raise _fail(
            where,
            f"a {cfg['model']} detects "
            + ("every expression (expression '*')" if model.tags.multi_expression else "one expression")
            + f", but the bundle says expression {cfg['expression']!r}; retrain with `gfe train`",
        )
    if model.tags.multi_expression:
        model.tasks_ = tuple(cfg["expressions"])
    if model.tags.causal != cfg["causal"]:
        raise _fail(
            where,
            f"causal is {cfg['causal']}, but a {cfg['model']} is {'not ' * (not model.tags.causal)}causal",
        )
    return model


def _check_spec(cfg: dict, where: Path) -> None:
    spec = cfg["feature_spec"]
    name = spec.get("name")
    if not isinstance(name, str) or name not in SPECS:
        raise _fail(
            where, f"made with feature spec {name!r}, which this gfe does not know ({', '.join(SPECS)})"
        )
    ours = SPECS[name].to_dict()
    if spec != ours:
        diff = ", ".join(
            f"{k}: bundle {spec.get(k)!r} vs this gfe {ours.get(k)!r}"
            for k in sorted(set(spec) | set(ours))
            if spec.get(k) != ours.get(k)
        )
        raise _fail(
            where,
            f"made with another version of feature spec {name!r} ({diff}); its inputs would be "
            "computed differently — retrain it with `gfe train`",
        )


def _check_inputs(cfg: dict, where: Path) -> None:
    n, spec = cfg["n_features"], SPECS[cfg["feature_spec"]["name"]]
    if n != spec.n_features:
        raise _fail(
            where, f"expects {n} features per frame; feature spec {spec.name!r} computes {spec.n_features}"
        )
    if spec.stateful:
        if not isinstance(cfg.get("feature_state"), dict):
            raise _fail(
                where, f"feature spec {spec.name!r} needs the field 'feature_state' (its face template)"
            )
        try:
            spec.state_from_dict(cfg["feature_state"])
        except GfeError as exc:
            raise _fail(where, f"feature_state: {exc}; retrain with `gfe train`") from None
    if cfg["n_inputs"] != n * (2 if cfg["deltas"] else 1):
        raise _fail(where, "n_inputs does not match n_features and deltas")
    if cfg["deltas"] != (cfg["delta_scale"] is not None):
        raise _fail(where, "deltas and delta_scale disagree")
    if cfg["deltas"]:
        _check_vector(cfg["delta_scale"], n, where, "delta_scale", positive=True)
    norm = cfg["normalisation"]
    for key, kind in (("pooled", dict), ("signers", dict)):
        if not isinstance(norm.get(key), kind):
            raise _fail(where, f"config.json is missing the field 'normalisation.{key}' (an object)")
    groups = {"pooled": norm["pooled"], **{f"signers.{g}": s for g, s in norm["signers"].items()}}
    for g, stats in groups.items():
        if not isinstance(stats, dict) or "mean" not in stats or "std" not in stats:
            raise _fail(where, f"config.json is missing 'normalisation.{g}.mean' or '.std'")
        _check_vector(stats["mean"], n, where, f"normalisation.{g}.mean")
        _check_vector(stats["std"], n, where, f"normalisation.{g}.std", positive=True)


def _check_vector(v: Any, n: int, where: Path, what: str, positive: bool = False) -> None:
    ok = (
        isinstance(v, list)
        and len(v) == n
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    )
    if not ok:
        raise _fail(where, f"{what} must be a list of {n} numbers")
    arr = np.asarray(v, dtype=np.float64)
    if not np.isfinite(arr).all() or (positive and not (arr > 0).all()):
        raise _fail(where, f"{what} holds values that are not finite{' and positive' if positive else ''}")


def _load_weights(folder: Path, cfg: dict) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    name = cfg["weights"]["file"]
    if "\x00" in name or Path(name).name != name or name in ("", ".", ".."):
        raise _fail(folder, f"weights.file {name!r} must be a file name inside the bundle folder")
    path = folder / name
    if not path.is_file():
        raise _fail(folder, f"weights file {name} is missing")
    try:
        if path.stat().st_size > 4 * MAX_PARAMETERS + (1 << 20):
            raise _fail(folder, f"weights file {name} is far larger than any bundle's; copy the bundle again")
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(
            folder, f"weights file {name} cannot be read ({exc.strerror}); check its permissions"
        ) from None
    if _sha256(data) != cfg["weights"]["sha256"]:
        raise _fail(
            folder,
            f"weights file {name} does not match the sha256 in config.json: it is corrupt, truncated "
            "or from another bundle — copy the bundle again or retrain",
        )
    try:
        return load(data)
    except Exception as exc:
        raise _fail(folder, f"weights file {name} cannot be read ({exc})") from None


def expected_shapes(model, n_inputs: int) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of ``model``'s module, built on the meta device (no memory used)."""
    import torch

    with torch.device("meta"):
        module = model.build_module(n_inputs)
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _expected(model, cfg: dict, where: Path) -> dict[str, tuple[int, ...]]:
    """The tensors the model needs (built on the meta device), refused when absurdly many."""
    try:
        expected = expected_shapes(model, cfg["n_inputs"])
    except (RuntimeError, TypeError, ValueError) as exc:
        raise _fail(where, f"its model cannot be built from its parameters ({exc}); retrain") from None
    size = sum(int(np.prod(shape)) for shape in expected.values())
    if size > MAX_PARAMETERS:
        raise _fail(where, f"its model would hold {size:,} weights, more than gfe loads ({MAX_PARAMETERS:,})")
    return expected


def _check_weights(weights: dict[str, np.ndarray], expected: dict, cfg: dict, where: Path) -> None:
    got = {k: tuple(v.shape) for k, v in weights.items()}
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing or extra:
        raise _fail(
            where,
            f"weights do not fit a {cfg['model']} with these parameters (missing: "
            f"{', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'})",
        )
    for k, shape in expected.items():
        if got[k] != shape:
            raise _fail(where, f"tensor {k} has shape {list(got[k])}, expected {list(shape)}")
        if weights[k].dtype != np.float32:
            raise _fail(where, f"tensor {k} is {weights[k].dtype}, not float32 as gfe writes weights")
        if not np.isfinite(weights[k]).all():
            raise _fail(where, f"tensor {k} holds values that are not finite")


def validate(cfg: Any, weights_folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Check a bundle config and load its weights: (config, weights), or a :class:`BundleError`."""
    _check_fields(cfg, weights_folder)
    model = _check_model(cfg, weights_folder)
    # Engines and export read the parameters the weights are checked against: every one of them,
    # defaults included (a config may leave one out).
    cfg["params"] = model.get_params()
    _check_spec(cfg, weights_folder)
    _check_inputs(cfg, weights_folder)
    expected = _expected(model, cfg, weights_folder)
    weights = _load_weights(weights_folder, cfg)
    _check_weights(weights, expected, cfg, weights_folder)
    return cfg, weights


# ------------------------------------------------------------------------------------- loading
def _spelled(expression: str | None) -> str | None:
    """The canonical form of an expression name (``wh-question`` → ``wh_question``), when it is one."""
    from gfe.data.names import canonical_name

    if expression is None:
        return None
    return canonical_name(expression, EXPRESSIONS) or expression


def load_bundle(path: str | Path, expression: str | None = None) -> Bundle:
    """Load and validate a bundle folder (or its config.json). With ``expression``, a bundle for
    another expression is an error."""
    path = Path(path)
    expression = _spelled(expression)
    folder = path.parent if path.name == CONFIG_NAME and path.is_file() else path
    if not folder.exists():
        raise _fail(folder, "not found; train one with `gfe train --out FOLDER`")
    if not (folder / CONFIG_NAME).is_file():
        raise _fail(folder, f"no {CONFIG_NAME} there — not a bundle folder (made by `gfe train --out`)")
    cfg, weights = validate(_read_config(folder), folder)
    bundle = Bundle(config=cfg, weights=weights, path=folder)
    return bundle if expression is None else bundle.select(expression)


def is_bundle(path: Path) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


def load_bundles(path: str | Path, expression: str | None = None) -> list[Bundle]:
    """One bundle folder → [bundle]; a folder of bundle folders (``gfe train --all``) → all of
    them in the order of :data:`gfe.EXPRESSIONS` (no expression detected twice; a multi-expression
    bundle counts for all of its heads). ``expression`` selects one (error if absent)."""
    path = Path(path)
    expression = _spelled(expression)
    if is_bundle(path) or (path.name == CONFIG_NAME and path.is_file()):
        return [load_bundle(path, expression)]
    if not path.is_dir():
        raise _fail(path, "not found; train one with `gfe train --out FOLDER`")
    subs = sorted(p for p in path.iterdir() if p.is_dir() and is_bundle(p))
    if not subs:
        raise _fail(path, f"neither a bundle folder nor a folder of bundles (no {CONFIG_NAME} found)")
    bundles = [load_bundle(p) for p in subs]
    seen: dict[str, Path] = {}
    for b in bundles:
        for e in b.expressions:
            if e in seen:
                raise _fail(
                    path,
                    f"two bundles detect {e!r} ({seen[e].name}, {b.path.name}); keep one per expression",
                )
            seen[e] = b.path
    bundles.sort(key=lambda b: EXPRESSIONS.index(b.expressions[0]))
    if expression is not None:
        chosen = [b.select(expression) for b in bundles if expression in b.expressions]
        if not chosen:
            raise _fail(path, f"holds no bundle for {expression!r} (it has: {', '.join(seen)})")
        return chosen
    return bundles
