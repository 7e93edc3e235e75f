"""Test-wide setup: Qt offscreen, per-run user folders, and the real demo stack (team server + sandbox)."""

from __future__ import annotations

import os
import tempfile

# Before anything imports Qt or platformdirs: no screen needed, and never the developer's own folders.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_home = tempfile.mkdtemp(prefix="workstation-tests-")
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ.setdefault("WORKSTATION_LANG", "en")

import pytest  # noqa: E402

from workstation.demo import DemoStack, start_demo_stack  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> DemoStack:
    """A real team server and WhatsApp sandbox as child processes on loopback, no generated traffic."""
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("stack"), traffic=False)
    yield s
    s.stop()
