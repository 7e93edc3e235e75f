"""The house rules of ARCHITECTURE.md: the core and the services never import Qt; layers stay apart."""

from __future__ import annotations

import pytest

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6", "qasync")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}"
    return files


def _top(name: str) -> str:
    return name.split(".")[0]


def test_core_and_services_never_import_qt_or_the_ui():
    offenders = [
        (str(path.relative_to(ROOT)), name)
        for package in ("workstation", "services")
        for path in modules(package)
        for name in imports_of(path)
        if _top(name) in QT + ("ui",)
    ]
    assert offenders == []


# What both sides share: the wire protocol, and how X counts a post (the composer's budget and the server's check
# must agree to the character).
SHARED = ("workstation.protocol", "workstation.textcount")


def test_services_use_only_the_protocol_from_the_desktop_core():
    offenders = [
        (str(path.relative_to(ROOT)), name)
        for path in modules("services")
        for name in imports_of(path)
        if _top(name) == "workstation" and name not in ("workstation", "workstation.__version__")
        and not any(name == shared or name.startswith(shared + ".") for shared in SHARED)
    ]
    assert offenders == []


@pytest.mark.parametrize("shared", SHARED)
def test_shared_modules_import_nothing_of_the_project(shared):
    names = imports_of(ROOT / (shared.replace(".", "/") + ".py"))
    assert not {n for n in names if _top(n) in ("workstation", "services", "ui")}


def test_importing_every_core_and_service_module_loads_no_qt():
    mods = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for package in ("workstation", "services")
        for p in modules(package)
        if p.name != "__main__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT + ('ui',)!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
