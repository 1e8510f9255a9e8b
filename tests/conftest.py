"""Shared fixtures: the real dataset (required in CI) and small synthetic datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gfe.data import dataset_present
from gfe.data.synthetic import write_dataset

REPO = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path | None:
    from gfe.data import cache_dir

    for candidate in (os.environ.get("GFE_DATA_DIR"), REPO.parent / "shared" / "data" / "gfe", cache_dir()):
        if candidate and dataset_present(Path(candidate)):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real UCI dataset. In CI its absence is a failure, never a skip."""
    path = real_data_dir()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have the real dataset: set GFE_DATA_DIR or provide ../shared/data/gfe")
        pytest.skip("real dataset not found (set GFE_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def real_recordings(real_data):
    from gfe.data import load_dataset

    return load_dataset(real_data)


@pytest.fixture()
def synthetic_data(tmp_path) -> Path:
    return write_dataset(tmp_path / "gfe", n_frames=120)


@pytest.fixture(scope="session")
def synthetic_data_session(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("gfe"), n_frames=150)


def pytest_collection_modifyitems(config, items):
    """Tests of the optional MiniRocket extra run only where `aeon` is installed
    (`pip install 'gfe[rocket]'`); elsewhere they are deselected, and the clear error for the
    missing package is tested instead (test_minirocket_without_aeon_is_a_clear_error)."""
    from gfe.models.rocket import rocket_available

    if rocket_available():
        return
    rocket = [i for i in items if i.get_closest_marker("rocket")]
    if rocket:
        config.hook.pytest_deselected(items=rocket)
        items[:] = [i for i in items if not i.get_closest_marker("rocket")]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's headless Chromium for browser tests ($GFE_CHROMIUM, default /usr/bin/chromium) and
    Playwright for Python to drive it. In CI their absence is a failure, elsewhere a skip."""
    path = os.environ.get("GFE_CHROMIUM", "/usr/bin/chromium")
    problem = None
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        problem = f"no Chromium executable at {path}: install Debian's chromium or set GFE_CHROMIUM"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is not installed: pip install -e '.[test]'"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests; {problem}")
        pytest.skip(problem)
    return path


def _sigint_as_in_a_terminal() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture()
def interruptible() -> dict:
    """Popen options for a gfe process that a test interrupts with SIGINT to its process group:
    its own session, and SIGINT restored to the default (a shell that starts pytest in the
    background, `pytest &`, leaves SIGINT ignored, which every child would inherit)."""
    return {"start_new_session": True, "preexec_fn": _sigint_as_in_a_terminal}
