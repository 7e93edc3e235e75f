"""Non-secret per-user preferences (last server, email, signed-in agent) in the config folder."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workstation.paths import config_dir

log = logging.getLogger(__name__)


@dataclass
class Preferences:
    server_url: str = ""
    email: str = ""
    agent: dict = field(default_factory=dict)  # the last AgentPublic, to open the cache while offline
    language: str = ""

    @classmethod
    def path(cls) -> Path:
        return config_dir() / "preferences.json"

    @classmethod
    def load(cls) -> "Preferences":
        try:
            data = json.loads(cls.path().read_text(encoding="utf-8"))
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, TypeError) as exc:
            log.warning("preferences unreadable (%s); starting from defaults", exc)
            return cls()

    def save(self) -> None:
        path = self.path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)
