"""Translations: extract the UI's strings into resources/i18n/*.ts and compile them to .qm.

    uv run python tools/i18n.py            # lupdate ui/**/*.py -> workstation_<lang>.ts, then lrelease -> .qm
    uv run python tools/i18n.py --check    # exit 1 (listing the strings) if a .ts is stale, incomplete or wrong

English is the source language; every other language has a .ts file kept by this script. `--check` never
writes anything: it runs lupdate into a temporary copy of each .ts and compares the set of messages.

lupdate reads Python sources literally: `self.tr("…")` gets the enclosing class as context (which is what
PySide6 uses at run time), `QCoreApplication.translate("Ctx", "…")` gets "Ctx". Calls through an alias
(`tr = QCoreApplication.translate; tr("Ctx", "…")`) or on another object (`window.tr("…")`, which lupdate
files under the context "window" while Qt looks the string up under the object's class) are extracted
wrongly; `--check` reports those as "wrong context" because they would never be translated at run time.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI_DIR = ROOT / "ui"
I18N_DIR = ROOT / "resources" / "i18n"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("es",)
PLACEHOLDER = re.compile(r"%\d+")


@dataclass(frozen=True, order=True)
class Key:
    context: str
    source: str
    comment: str = ""  # lupdate's disambiguation

    def __str__(self) -> str:
        extra = f" [{self.comment}]" if self.comment else ""
        return f"{self.context or '(no context)'}: {self.source!r}{extra}"


@dataclass
class Message:
    key: Key
    translation: str
    finished: bool


@dataclass
class Report:
    ts: Path
    missing: list[Key]  # in the sources, not in the .ts
    extra: list[Key]  # in the .ts, no longer in the sources
    unfinished: list[Key]
    bad_placeholders: list[Key]
    wrong_context: list[Key]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.unfinished or self.bad_placeholders or self.wrong_context)

    def lines(self) -> list[str]:
        out: list[str] = []
        for title, keys in (
            ("in the sources but not in the .ts (run tools/i18n.py)", self.missing),
            ("in the .ts but gone from the sources (run tools/i18n.py)", self.extra),
            ("untranslated or marked unfinished", self.unfinished),
            ("translation does not keep the source's %N placeholders", self.bad_placeholders),
            ("wrong context: Qt will never look these up (fix the call in ui/)", self.wrong_context),
        ):
            if keys:
                out.append(f"{self.ts.relative_to(ROOT) if self.ts.is_relative_to(ROOT) else self.ts}: "
                           f"{len(keys)} message(s) {title}:")
                out.extend(f"    {key}" for key in keys)
        return out


def tool(name: str) -> str:
    """A Qt tool from the running interpreter's environment (the venv's bin/Scripts), else from PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found next to {sys.executable} or on PATH (is PySide6 installed?)")
    return found


def ts_path(language: str) -> Path:
    return I18N_DIR / f"workstation_{language}.ts"


def qm_path(language: str) -> Path:
    return I18N_DIR / f"workstation_{language}.qm"


def sources() -> list[Path]:
    return sorted(p for p in UI_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def read_ts(path: Path) -> list[Message]:
    messages: list[Message] = []
    for context in ET.parse(path).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            kind = translation.get("type") if translation is not None else "unfinished"
            text = (translation.text or "") if translation is not None else ""
            messages.append(Message(
                Key(name, message.findtext("source") or "", message.findtext("comment") or ""),
                text,
                finished=kind not in ("unfinished", "vanished", "obsolete") and bool(text.strip()),
            ))
    return messages


def run_lupdate(ts: Path, language: str) -> None:
    """Merges the strings of every ui/ source into `ts` (created when missing); vanished strings are dropped."""
    cmd = [tool("pyside6-lupdate"), "-silent", "-no-obsolete", "-locations", "relative",
           "-source-language", SOURCE_LANGUAGE, "-target-language", language,
           *[str(p.relative_to(ROOT)) for p in sources()], "-ts", str(ts)]
    subprocess.run(cmd, cwd=ROOT, check=True)


def run_lrelease(ts: Path, qm: Path) -> None:
    # Only reviewed (finished) translations ship; anything else shows in English.
    subprocess.run([tool("pyside6-lrelease"), "-silent", "-nounfinished", str(ts), "-qm", str(qm)], cwd=ROOT, check=True)


def runtime_contexts() -> set[str]:
    """Contexts Qt can look strings up under: the classes defined in ui/ and literal translate() contexts."""
    contexts: set[str] = set()
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ClassDef):
                contexts.add(node.name)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "translate"
                  and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                contexts.add(node.args[0].value)
    return contexts


def placeholders_kept(message: Message) -> bool:
    return sorted(PLACEHOLDER.findall(message.key.source)) == sorted(PLACEHOLDER.findall(message.translation))


def check(language: str) -> Report:
    ts = ts_path(language)
    current = read_ts(ts) if ts.exists() else []
    with tempfile.TemporaryDirectory(prefix="workstation-i18n-") as tmp:
        fresh_ts = Path(tmp) / ts.name
        if ts.exists():
            shutil.copyfile(ts, fresh_ts)
        run_lupdate(fresh_ts, language)
        fresh = read_ts(fresh_ts)
    have = {m.key for m in current}
    want = {m.key for m in fresh}
    known = runtime_contexts()
    wrong = sorted(m.key for m in current if m.key.context not in known)
    return Report(
        ts=ts,
        missing=sorted(want - have),
        extra=sorted(have - want),
        unfinished=sorted(m.key for m in current if not m.finished and m.key.context in known),
        bad_placeholders=sorted(m.key for m in current if m.finished and not placeholders_kept(m)),
        wrong_context=wrong,
    )


def suggest_from_memory(ts: Path, memory: dict[str, str]) -> int:
    """Pre-fills new, empty messages whose source text was already translated (e.g. a string that moved to
    another context). They stay unfinished, so `--check` fails until someone reviews them."""
    tree = ET.parse(ts)
    filled = 0
    for message in tree.getroot().iter("message"):
        translation = message.find("translation")
        source = message.findtext("source") or ""
        if translation is not None and not (translation.text or "").strip() and source in memory:
            translation.text = memory[source]
            translation.set("type", "unfinished")
            filled += 1
    if filled:
        # Keep lupdate's layout: rewrite only the translation elements' text, by re-running lupdate afterwards.
        ET.indent(tree, space="    ")
        body = ET.tostring(tree.getroot(), encoding="unicode")
        ts.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8")
    return filled


def update(language: str) -> None:
    ts = ts_path(language)
    ts.parent.mkdir(parents=True, exist_ok=True)
    memory = {m.key.source: m.translation for m in read_ts(ts) if m.finished} if ts.exists() else {}
    run_lupdate(ts, language)
    if suggest_from_memory(ts, memory):
        run_lupdate(ts, language)  # normalise the file back to lupdate's own formatting
    run_lrelease(ts, qm_path(language))


def fill(language: str, translations_json: Path) -> int:
    """Writes reviewed translations from a JSON object {"Context|source text": "translation"} into the
    .ts and marks them finished; returns how many were filled."""
    wanted = json.loads(translations_json.read_text(encoding="utf-8"))
    tree = ET.parse(ts_path(language))
    filled = 0
    for context in tree.getroot().iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            key = f"{name}|{message.findtext('source')}"
            if key in wanted:
                translation = message.find("translation")
                translation.text = wanted[key]
                translation.attrib.pop("type", None)
                filled += 1
    tree.write(ts_path(language), encoding="utf-8", xml_declaration=True)
    return filled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a .ts is out of date or incomplete")
    parser.add_argument("--fill", type=Path, metavar="JSON",
                        help='first write translations from a JSON object {"Context|source": "translation"}')
    parser.add_argument("languages", nargs="*", default=list(LANGUAGES), help=f"default: {' '.join(LANGUAGES)}")
    args = parser.parse_args(argv)
    if args.fill:
        for language in args.languages:
            print(f"{language}: filled {fill(language, args.fill)} translation(s)")
    if args.check:
        failed = False
        for language in args.languages:
            report = check(language)
            for line in report.lines():
                print(line)
            failed |= not report.ok
        if not failed:
            print(f"translations up to date and complete: {', '.join(args.languages)}")
        return 1 if failed else 0
    for language in args.languages:
        update(language)
        report = check(language)
        print(f"{ts_path(language).relative_to(ROOT)} -> {qm_path(language).relative_to(ROOT)}")
        for line in report.lines():
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
