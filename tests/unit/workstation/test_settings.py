"""Settings: declared defaults, validation, persistence, subscribers."""

from __future__ import annotations

import json

import pytest

from workstation.settings import DEFAULT_SHORTCUTS, Settings, SettingsError


def test_defaults_then_saved_values_survive_a_restart(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings(path)
    assert s.get("theme") == "system" and s.get("shortcuts") == DEFAULT_SHORTCUTS
    s.set("theme", "dark")
    s.set("window.search", "garantía")
    again = Settings(path)
    assert again.get("theme") == "dark" and again.get("window.search") == "garantía"


def test_invalid_values_are_refused_and_bad_files_fall_back_to_defaults(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings(path)
    with pytest.raises(SettingsError):
        s.set("theme", "neon")
    with pytest.raises(SettingsError):
        s.set("notifications", "yes")
    with pytest.raises(SettingsError):
        s.set("no.such.key", 1)
    path.write_text(json.dumps({"theme": "neon", "language": "es"}), encoding="utf-8")
    loaded = Settings(path)
    assert loaded.get("theme") == "system" and loaded.get("language") == "es"
    path.write_text("{not json", encoding="utf-8")
    assert Settings(path).get("language") == "system"


def test_subscribers_hear_changes_once(tmp_path):
    s = Settings(tmp_path / "s.json")
    heard = []
    s.subscribe("language", heard.append)
    s.set("language", "es")
    s.set("language", "es")  # unchanged: no second call
    assert heard == ["es"]


def test_shortcuts_merge_with_defaults_and_copies_are_independent(tmp_path):
    s = Settings(tmp_path / "s.json")
    s.set("shortcuts", {"search": "Ctrl+Shift+F", "unknown_action": "X"})
    shortcuts = s.get("shortcuts")
    assert shortcuts["search"] == "Ctrl+Shift+F" and "unknown_action" not in shortcuts
    assert shortcuts["reply"] == DEFAULT_SHORTCUTS["reply"]
    shortcuts["search"] = "changed in place"
    assert s.get("shortcuts")["search"] == "Ctrl+Shift+F"


@pytest.mark.parametrize("content", ["[]", "null", '"x"', '{"shortcuts": null, "notifications": null}'])
def test_files_of_the_wrong_shape_fall_back_to_defaults(tmp_path, content):
    path = tmp_path / "s.json"
    path.write_text(content, encoding="utf-8")
    s = Settings(path)
    assert s.get("notifications") is True and s.get("shortcuts") == DEFAULT_SHORTCUTS
