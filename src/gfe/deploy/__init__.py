"""Models → deployed models: bundles (format, validation, fast engines), training a bundle,
labelling recordings offline, streaming frame by frame, and ONNX export."""

from gfe.deploy.bundle import Bundle, BundleError, load_bundle, load_bundles
from gfe.deploy.labelling import Normalisation, label_recording, predict_file
from gfe.deploy.stream import Detector
from gfe.deploy.training import train_bundle

__all__ = [
    "Bundle",
    "BundleError",
    "Detector",
    "Normalisation",
    "label_recording",
    "load_bundle",
    "load_bundles",
    "predict_file",
    "train_bundle",
]
