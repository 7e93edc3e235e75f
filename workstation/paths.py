"""Where the app keeps its files: per-user data and config folders, and the shipped resources."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "Workstation"


def data_dir() -> Path:
    path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    path = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def resources_dir() -> Path:
    import resources

    return Path(resources.__file__).resolve().parent
