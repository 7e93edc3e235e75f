"""Test-wide setup: Qt offscreen, per-run user folders, and the real demo stack (team server + sandbox)."""

from __future__ import annotations

import json
import os
import tempfile

# Before anything imports Qt or platformdirs: no screen needed, and never the developer's own folders.
_home = tempfile.mkdtemp(prefix="workstation-tests-")
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    # A desktop-sized offscreen screen (the default is 800×800): windows keep the geometry they get.
    _screen = os.path.join(_home, "offscreen.json")
    with open(_screen, "w") as f:
        json.dump({"synchronousWindowSystemEvents": False, "windowFrameMargins": False, "screens": [
            {"name": "OffscreenScreen", "x": 0, "y": 0, "width": 1920, "height": 1200,
             "logicalDpiX": 96, "logicalDpiY": 96, "dpr": 1}]}, f)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen}"
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ.setdefault("WORKSTATION_LANG", "en")

import pytest  # noqa: E402

from tests.support import DATABASES, team_database  # noqa: E402
from workstation.demo import DemoStack, start_demo_stack  # noqa: E402


@pytest.fixture(scope="module", params=DATABASES)
def team_db(request, tmp_path_factory) -> str:
    """An empty team database: every module that uses it runs on SQLite and on PostgreSQL."""
    with team_database(request.param, tmp_path_factory.mktemp(f"team-{request.param}")) as url:
        yield url


@pytest.fixture(scope="module")
def stack(tmp_path_factory, team_db) -> DemoStack:
    """A real team server and WhatsApp sandbox as child processes on loopback, no generated traffic."""
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("stack"), traffic=False, db_url=team_db)
    yield s
    s.stop()
