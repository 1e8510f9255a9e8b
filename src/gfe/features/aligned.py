"""Feature spec ``aligned``: a geometry-normalised face per frame, plus person normalisation.

Why: the paper's 118 features are screen-pixel distances and raw depth in millimetres, so they
carry each signer's face size, head position and distance from the camera. Facial-action-unit
work (OpenFace, Baltrušaitis et al. FG 2015) instead aligns each face to a canonical one and then
subtracts the person's own neutral (median) face computed without labels. This module does both.

Pipeline for one frame (``landmarks[t]`` of shape (100, 3): x, y pixels, z millimetres)

1. **Unknowns.** A frame whose x or y is unknown (``nan`` anywhere in its x/y) gets an all-``nan``
   feature row. ``z == 0`` (Kinect's lost depth) and ``nan`` z are unknown depth (``nan``).
2. **Similarity alignment (2-D Procrustes).** Points as complex numbers ``p = x + iy``. Over the
   *rigid* landmarks R (eye corners, nose, nose tip, upper face contour: points that move little
   with expressions), the similarity ``q = a (p - c)`` (``a`` complex: scale |a| and rotation
   arg a; ``c`` the rigid centroid) that best maps the frame onto the template ``T`` (centred,
   unit RMS radius over R) in least squares is ``a = Σ conj(p_j - c) T_j / Σ |p_j - c|²`` (no
   reflection possible). Every one of the 100 landmarks is mapped with it.
3. **Relative depth.** ``d`` = median of the known z of the rigid landmarks (the face's own
   depth); ``z_rel = z - d``. Kinect samples depth at each landmark's pixel, so contour points
   often read the background (``z_rel`` ≈ +300 mm): ``|z_rel| > depth_outlier_mm`` (200 mm by
   default) is unknown too. With ``depth_units="face"`` (default) it is converted to the
   template's units with the pinhole model: one pixel at depth d is ``d / f`` mm (Kinect v1,
   640×480: ``f ≈ 525`` px), so ``z_face = z_rel · |a| · f / d``; x, y and z are then in the
   same (face-size-free) units. With ``"mm"`` it stays in millimetres.
4. **Pose channels** (``pose=True``): ``log_size = -log|a|`` (log face size in pixels),
   ``roll = arg a``, ``tx, ty`` = rigid centroid minus the image centre, in face units
   (``(c - centre)·|a|``), ``log_depth = log d``, and the out-of-plane slopes ``yaw, pitch``:
   the least-squares plane ``z_face ≈ g_x·x + g_y·y + g_0`` over the known rigid landmarks
   (aligned x, y), i.e. the depth gradient across the face. Head nods / shakes (affirmative,
   negative) live here and in ``tx, ty``; alignment alone would remove them.
5. **Velocities** (``velocities=True``): ``f_t - f_{t-1}`` for every channel above (causal;
   ``nan`` on the first frame and wherever either frame is unknown).

Feature layout (``feature_names``): ``x0..x99, y0..y99, z0..z99`` (aligned), then the 7 pose
channels, then (optionally) ``d_`` + each of those names. 307 columns, 614 with velocities.

Person normalisation is the z-score per signer that every spec gets (:mod:`gfe.features.scaling`,
fitted on the frames each protocol allows, without labels): on aligned features, subtracting the
signer's mean face is the person-specific normalisation of facial action unit work.

The template is a normalisation statistic like the z-score's: it is fitted (:meth:`AlignedSpec.fit`,
a generalised Procrustes mean, no labels) on each fold's training frames, and on a bundle's
training frames, which the bundle keeps. Everything is pure numpy, vectorised over frames;
:class:`AlignedFrames` computes the same numbers one frame at a time (for streaming).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import ClassVar, Literal

import numpy as np

N_LANDMARKS = 100
#: Landmarks used to fit the similarity: eye corners (0, 4, 8, 12), nose (36–47), nose tip (89),
#: upper face contour (68–70, 84–86). Mouth, brows, eyelids, irises and jaw are left out: they
#: move with the expressions that are to be recognised.
RIGID_LANDMARKS: tuple[int, ...] = (0, 4, 8, 12, *range(36, 48), 89, 68, 69, 70, 84, 85, 86)
KINECT_FOCAL_PX = 525.0  # Kinect v1 colour camera, 640×480
IMAGE_CENTRE = (320.0, 240.0)
POSE_NAMES: tuple[str, ...] = ("log_size", "roll", "tx", "ty", "log_depth", "yaw", "pitch")


# ----------------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class AlignedSpec:
    """What :func:`aligned_features` computes. ``version`` changes whenever outputs would."""

    name: str = "aligned"
    rigid: tuple[int, ...] = RIGID_LANDMARKS
    depth: bool = True  # relative depth channels z0..z99
    depth_units: Literal["face", "mm"] = "face"
    pose: bool = True  # the 7 pose channels
    velocities: bool = False
    focal_px: float = KINECT_FOCAL_PX
    min_rigid_depth: int = 3  # fewer known rigid z → frame depth unknown
    # |z - d| beyond this (mm) is a depth sample that missed the face (Kinect reads the wall
    # behind the contour, ~+300 mm): unknown. None keeps every value.
    depth_outlier_mm: float | None = 200.0
    version: int = 1

    @property
    def n_static(self) -> int:
        return 2 * N_LANDMARKS + (N_LANDMARKS if self.depth else 0) + (len(POSE_NAMES) if self.pose else 0)

    @property
    def n_features(self) -> int:
        return self.n_static * (2 if self.velocities else 1)

    def feature_names(self) -> tuple[str, ...]:
        names = [f"x{i}" for i in range(N_LANDMARKS)] + [f"y{i}" for i in range(N_LANDMARKS)]
        if self.depth:
            names += [f"z{i}" for i in range(N_LANDMARKS)]
        if self.pose:
            names += list(POSE_NAMES)
        if self.velocities:
            names += [f"d_{n}" for n in names]
        return tuple(names)

    stateful: ClassVar[bool] = True  # the face template is fitted on training frames

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rigid"] = list(self.rigid)
        return d

    def fit(self, landmarks: np.ndarray) -> Template:
        """The canonical face of these (training) frames: a generalised Procrustes mean, no labels."""
        return _fit(self, landmarks)

    def compute(self, landmarks: np.ndarray, state: Template) -> np.ndarray:
        """One recording's features (frames in order: velocities are frame differences)."""
        return aligned_features(landmarks, state, self)

    def usable(self, features: np.ndarray) -> np.ndarray:
        return known_frames(features)

    def frames(self, state: Template) -> AlignedFrames:
        return AlignedFrames(self, state)

    def state_to_dict(self, state: Template) -> dict:
        return state.to_dict()

    def state_from_dict(self, data: dict) -> Template:
        return template_from_dict(data, self.rigid)

    def landmark_columns(self) -> np.ndarray:
        """(100, k) column indices of each landmark's channels (x, y[, z]) — for landmark dropout."""
        cols = [np.arange(N_LANDMARKS), N_LANDMARKS + np.arange(N_LANDMARKS)]
        if self.depth:
            cols.append(2 * N_LANDMARKS + np.arange(N_LANDMARKS))
        c = np.stack(cols, axis=1)
        if self.velocities:
            c = np.concatenate([c, c + self.n_static], axis=1)
        return c


# ---------------------------------------------------------------------------------- template
@dataclass(frozen=True)
class Template:
    """The canonical face: (100,) complex points, centred and of unit RMS radius over ``rigid``."""

    points: np.ndarray  # (100,) complex128
    rigid: tuple[int, ...] = RIGID_LANDMARKS

    def to_dict(self) -> dict:
        return {"x": self.points.real.tolist(), "y": self.points.imag.tolist(), "rigid": list(self.rigid)}

    @classmethod
    def from_dict(cls, d: dict) -> Template:
        return cls(np.asarray(d["x"]) + 1j * np.asarray(d["y"]), tuple(d["rigid"]))


def _complex_xy(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (N_LANDMARKS, 3):
        raise ValueError(f"landmarks must have shape (frames, 100, 3), got {lm.shape}")
    return lm[:, :, 0] + 1j * lm[:, :, 1]


def _normalise_shape(shape: np.ndarray, rigid: np.ndarray) -> np.ndarray:
    """Centre on the rigid centroid and scale to unit RMS radius over the rigid points."""
    s = shape - shape[rigid].mean()
    return s / np.sqrt(np.mean(np.abs(s[rigid]) ** 2))


def _similarity(p: np.ndarray, target: np.ndarray, rigid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: (a, c) with ``a (p - c)`` the least-squares similarity of ``p[:, rigid]`` onto
    ``target[rigid]`` (which must be centred over ``rigid``). ``p``: (frames, 100) complex."""
    pr = p[:, rigid]
    c = pr.mean(axis=1)
    pc = pr - c[:, None]
    a = (np.conj(pc) * target[rigid][None, :]).sum(axis=1) / (np.abs(pc) ** 2).sum(axis=1)
    return a, c


def fit_template(
    landmarks: np.ndarray,
    rigid: tuple[int, ...] = RIGID_LANDMARKS,
    n_iter: int = 10,
    max_frames: int = 20000,
    tol: float = 1e-10,
) -> Template:
    """Generalised Procrustes mean of the x, y of ``landmarks`` (frames, 100, 3).

    Frames with an unknown x/y are skipped; at most ``max_frames`` evenly spaced frames are used.
    Start: the first known frame, normalised. Each iteration aligns every frame to the current
    mean (similarity over ``rigid``), averages all 100 aligned points, re-normalises (centre,
    unit RMS radius over ``rigid``) and re-aligns the new mean to the old one so the rotation does
    not drift; stops when the mean moves less than ``tol`` (RMS) or after ``n_iter`` iterations.
    Uses no labels. Deterministic.
    """
    p = _complex_xy(landmarks)
    p = p[np.isfinite(p).all(axis=1)]
    if len(p) == 0:
        raise ValueError("fit_template: no frame with known x, y")
    if len(p) > max_frames:
        p = p[np.linspace(0, len(p) - 1, max_frames).round().astype(int)]
    r = np.asarray(rigid)
    mean = _normalise_shape(p[0], r)
    for _ in range(n_iter):
        a, c = _similarity(p, mean, r)
        aligned = a[:, None] * (p - c[:, None])
        new = _normalise_shape(aligned.mean(axis=0), r)
        a0, c0 = _similarity(new[None], mean, r)
        new = a0[0] * (new - c0[0])
        moved = np.sqrt(np.mean(np.abs(new - mean) ** 2))
        mean = new
        if moved < tol:
            break
    return Template(mean, tuple(int(i) for i in rigid))


# ---------------------------------------------------------------------------------- features
def _plane_slopes(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, least-squares ``z ≈ gx x + gy y + g0`` over the entries where z is known.
    Inputs (frames, k); rows with fewer than 3 known z (or degenerate geometry) give ``nan``."""
    w = np.isfinite(z)
    zw = np.where(w, z, 0.0)
    xw, yw, ones = np.where(w, x, 0.0), np.where(w, y, 0.0), w.astype(np.float64)
    # Normal equations A g = b, A = Σ w [x y 1]^T [x y 1].
    sxx, sxy, sx = (xw * xw).sum(1), (xw * yw).sum(1), xw.sum(1)
    syy, sy, n = (yw * yw).sum(1), yw.sum(1), ones.sum(1)
    bx, by, b1 = (xw * zw).sum(1), (yw * zw).sum(1), zw.sum(1)
    a = np.stack([np.stack([sxx, sxy, sx], -1), np.stack([sxy, syy, sy], -1), np.stack([sx, sy, n], -1)], -2)
    b = np.stack([bx, by, b1], -1)
    ok = n >= 3
    det = np.linalg.det(a)
    ok &= np.abs(det) > 1e-12
    g = np.full((len(x), 3), np.nan)
    if ok.any():
        g[ok] = np.linalg.solve(a[ok], b[ok][..., None])[..., 0]
    return g[:, 0], g[:, 1]


def _known_median(values: np.ndarray, n_known: np.ndarray) -> np.ndarray:
    """Per row, the median of the finite values (``nanmedian``'s result, bit for bit, 7× faster):
    a sort puts ``nan`` last, so the middle of the first ``n_known`` entries is the median."""
    s = np.sort(values, axis=1)
    k = np.maximum(n_known, 1)
    rows = np.arange(len(s))
    return (s[rows, (k - 1) // 2] + s[rows, k // 2]) / 2


BLOCK = 1024  # frames per block: the temporaries stay in cache (3.7× faster than all at once)


def _blocked(landmarks: np.ndarray, template: Template, spec: AlignedSpec) -> np.ndarray:
    """All the features, block by block, into one output (velocities: differences of rows)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or len(lm) <= BLOCK:
        static = _static_features(lm, template, spec)
        return np.concatenate([static, velocities(static)], axis=1) if spec.velocities else static
    k = spec.n_static
    out = np.empty((len(lm), spec.n_features))
    edges = [*range(0, len(lm), BLOCK), len(lm)]
    if edges[-1] - edges[-2] == 1:  # numpy reduces a 1-row block otherwise (last bits): join it
        del edges[-2]
    for lo, hi in itertools.pairwise(edges):
        out[lo:hi, :k] = _static_features(lm[lo:hi], template, spec)
        if spec.velocities:
            np.subtract(out[lo + 1 : hi, :k], out[lo : hi - 1, :k], out=out[lo + 1 : hi, k:])
            if lo:
                np.subtract(out[lo, :k], out[lo - 1, :k], out=out[lo, k:])
    if spec.velocities:
        out[0, k:] = np.nan
    return out


def _static_features(landmarks: np.ndarray, template: Template, spec: AlignedSpec) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    p = _complex_xy(lm)
    r = np.asarray(spec.rigid)
    known_xy = np.isfinite(p).all(axis=1)
    n = len(lm)
    out = np.full((n, spec.n_static), np.nan)
    if not known_xy.any():
        return out
    pk = p[known_xy]
    a, c = _similarity(pk, template.points, r)
    q = a[:, None] * (pk - c[:, None])
    cols = [q.real, q.imag]
    scale = np.abs(a)
    if spec.depth or spec.pose:
        z = lm[known_xy, :, 2].copy()
        z[~(z != 0)] = np.nan  # z == 0 is lost depth; nan stays nan
        zr = z[:, r]
        n_known = np.isfinite(zr).sum(axis=1)
        with np.errstate(all="ignore"):
            d = np.where(n_known >= spec.min_rigid_depth, _known_median(zr, n_known), np.nan)
            zrel = z - d[:, None]
            if spec.depth_outlier_mm is not None:
                zrel[np.abs(zrel) > spec.depth_outlier_mm] = np.nan
            zface = zrel * (scale * spec.focal_px / d)[:, None]
        zch = zface if spec.depth_units == "face" else zrel
        if spec.depth:
            cols.append(zch)
    if spec.pose:
        with np.errstate(all="ignore"):
            yaw, pitch = _plane_slopes(q.real[:, r], q.imag[:, r], zface[:, r])
            pose = np.stack(
                [
                    -np.log(scale),
                    np.angle(a),
                    (c.real - IMAGE_CENTRE[0]) * scale,
                    (c.imag - IMAGE_CENTRE[1]) * scale,
                    np.log(d),
                    yaw,
                    pitch,
                ],
                axis=1,
            )
        cols.append(pose)
    out[known_xy] = np.concatenate(cols, axis=1)
    return out


def velocities(static: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Causal frame differences ``f_t - f_{t-1}``; row 0 uses ``previous`` (the frame before the
    block, or ``None`` → ``nan``). Unknown (``nan``) on either side gives ``nan``."""
    v = np.full_like(static, np.nan)
    if len(static) == 0:
        return v
    v[1:] = static[1:] - static[:-1]
    if previous is not None:
        v[0] = static[0] - previous
    return v


def aligned_features(landmarks: np.ndarray, template: Template, spec: AlignedSpec) -> np.ndarray:
    """(frames, 100, 3) landmarks → (frames, ``spec.n_features``) unscaled aligned features.

    ``nan`` marks every unknown value (frames with unknown x/y are whole ``nan`` rows; lost depth
    gives ``nan`` depth channels). Nothing is imputed here: that is the scaler's job, after the
    person reference has been subtracted. Velocities are computed over the given frames, so pass
    a whole recording (or use :class:`AlignedStream`).
    """
    if tuple(template.rigid) != tuple(spec.rigid):
        raise ValueError("template and spec use different rigid landmarks")
    return _blocked(landmarks, template, spec)


def known_frames(features: np.ndarray) -> np.ndarray:
    """True where the frame's x/y are known (aligned x0 is not ``nan``): the usable frames."""
    return np.isfinite(features[:, 0])


# ----------------------------------------------------------------------------- the spec's interface
def _fit(spec: AlignedSpec, landmarks: np.ndarray) -> Template:
    from gfe.errors import GfeError

    try:
        return fit_template(landmarks, spec.rigid)
    except ValueError as exc:
        raise GfeError(f"feature spec {spec.name}: cannot fit the face template ({exc})") from None


def template_from_dict(data: dict, rigid: tuple[int, ...]) -> Template:
    """A template stored in a bundle, checked (100 finite points, the spec's rigid landmarks)."""
    from gfe.errors import GfeError

    try:
        t = Template.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise GfeError(f"the face template is malformed ({type(exc).__name__})") from None
    ok = t.points.shape == (N_LANDMARKS,) and np.isfinite(t.points).all() and tuple(t.rigid) == tuple(rigid)
    if not ok:
        raise GfeError("the face template must hold 100 finite points and the spec's rigid landmarks")
    return t


class AlignedFrames:
    """One frame's aligned features (streaming), the same values as :func:`aligned_features` gives
    the frame in its recording. State: the template and the previous frame's static features."""

    def __init__(self, spec: AlignedSpec, template: Template) -> None:
        self.spec, self.template = spec, template
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        """A new recording: no previous frame."""
        self._prev = None

    def gap(self) -> None:
        """A frame was lost: the next frame's velocities are unknown."""
        self._prev = np.full(self.spec.n_static, np.nan)

    def __call__(self, flat: np.ndarray) -> np.ndarray:
        frame = np.asarray(flat, dtype=np.float64).reshape(1, N_LANDMARKS, 3)
        static = _static_features(frame, self.template, self.spec)
        row = static[0]
        if self.spec.velocities:
            row = np.concatenate([row, velocities(static, self._prev)[0]])
        self._prev = static[0]
        return row

    @staticmethod
    def usable(f: np.ndarray) -> bool:
        return bool(np.isfinite(f[0])) and not np.isinf(f).any()


ALIGNED = AlignedSpec()
ALIGNED_VEL = AlignedSpec(name="aligned-vel", velocities=True)
