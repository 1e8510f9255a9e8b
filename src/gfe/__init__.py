"""gfe: recognise Grammatical Facial Expressions of Brazilian Sign Language from Kinect landmarks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gfe")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

EXPRESSIONS: tuple[str, ...] = (
    "affirmative",
    "conditional",
    "doubt_question",
    "emphasis",
    "negative",
    "relative",
    "topics",
    "wh_question",
    "yn_question",
)
SIGNERS: tuple[str, ...] = ("a", "b")
N_LANDMARKS = 100
