"""User settings declared as data (type, default, description), read through one object, saved as JSON.

Views subscribe to the keys they care about; nothing else reads the file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from workstation.paths import config_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    description: str
    choices: tuple[Any, ...] | None = None


# Default key bindings (Qt's portable key-sequence text); every one can be changed in the settings.
DEFAULT_SHORTCUTS: dict[str, str] = {
    "next_conversation": "Alt+Down",
    "previous_conversation": "Alt+Up",
    "reply": "Ctrl+R",
    "note": "Ctrl+Shift+N",
    "canned": "Ctrl+/",
    "resolve_and_next": "Ctrl+Shift+R",
    "assign_to_me": "Ctrl+Shift+A",
    "snooze": "Ctrl+Shift+S",
    "search": "Ctrl+F",
    "command_palette": "Ctrl+K",
    "shortcut_sheet": "F1",
    "settings": "Ctrl+,",
    "end_shift": "",  # none by default (a shift ends once a day); one can be set
    "lead_board": "Ctrl+Shift+B",
    "dashboard": "Ctrl+Shift+D",
    "care_settings": "",  # leads only; also on the team board
}

SETTINGS: tuple[Setting, ...] = (
    Setting("language", "system", "Interface language", ("system", "en", "es")),
    Setting("theme", "system", "Colour theme", ("system", "light", "dark")),
    Setting("notifications", True, "Desktop notifications for new assignments and mentions"),
    Setting("sound", False, "Play a sound with each notification"),
    Setting("do_not_disturb", False, "Silence notifications (the tray count still updates)"),
    Setting("server_url", "", "Team server address offered at sign-in"),
    Setting("shortcuts", DEFAULT_SHORTCUTS, "Keyboard shortcuts by action"),
    # Window state: restored at the next start.
    Setting("window.geometry", "", "Saved window geometry (base64)"),
    Setting("window.splitter", "", "Saved splitter state (base64)"),
    Setting("window.search", "", "Search text when the app was closed"),
)
_BY_KEY = {s.key: s for s in SETTINGS}


class SettingsError(ValueError):
    pass


class Settings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "settings.json"
        self._values: dict[str, Any] = {}
        self._subscribers: dict[str, list[Callable[[Any], None]]] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("settings unreadable (%s); using defaults", exc)
            return
        if not isinstance(data, dict):
            log.warning("settings file holds no object; using defaults")
            return
        for key, value in data.items():
            if key in _BY_KEY:
                try:
                    self._values[key] = self._validate(_BY_KEY[key], value)
                except SettingsError as exc:
                    log.warning("ignoring setting %s: %s", key, exc)

    @staticmethod
    def _validate(setting: Setting, value: Any) -> Any:
        if setting.choices is not None and value not in setting.choices:
            raise SettingsError(f"{setting.key} must be one of {setting.choices}, not {value!r}")
        default = setting.default
        if default is not None and not isinstance(value, type(default)):
            raise SettingsError(f"{setting.key} must be a {type(default).__name__}")
        if setting.key == "shortcuts":
            value = {**DEFAULT_SHORTCUTS, **{k: str(v) for k, v in value.items() if k in DEFAULT_SHORTCUTS}}
        return value

    def get(self, key: str) -> Any:
        setting = _BY_KEY[key]
        value = self._values.get(key, setting.default)
        # Hand out copies of containers so callers cannot change the stored value behind our back.
        return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value

    def set(self, key: str, value: Any, *, save: bool = True) -> None:
        setting = _BY_KEY.get(key)
        if setting is None:
            raise SettingsError(f"unknown setting {key}")
        value = self._validate(setting, value)
        if self._values.get(key, setting.default) == value:
            return
        self._values[key] = value
        if save:
            self.save()
        for callback in self._subscribers.get(key, []):
            callback(self.get(key))

    def subscribe(self, key: str, callback: Callable[[Any], None]) -> None:
        self._subscribers.setdefault(key, []).append(callback)

    def unsubscribe(self, key: str, callback: Callable[[Any], None]) -> None:
        callbacks = self._subscribers.get(key, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._values, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)
