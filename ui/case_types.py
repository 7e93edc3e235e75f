"""Case types and priorities in words, translated: shared by every view that shows or asks for them."""

from __future__ import annotations

from typing import get_args

from PySide6.QtCore import QCoreApplication

from workstation import protocol

# Every case type, in the order a department lists them (information, incident, post-sale).
CASE_TYPES: tuple[str, ...] = get_args(protocol.CaseType)
CASE_GROUPS: tuple[str, ...] = ("information", "incident", "postsale")
PRIORITIES: tuple[str, ...] = get_args(protocol.Priority)


def case_group_name(group: str) -> str:
    names = {
        "information": QCoreApplication.translate("case_type", "Information"),
        "incident": QCoreApplication.translate("case_type", "Incident"),
        "postsale": QCoreApplication.translate("case_type", "Post-sale"),
    }
    return names.get(group, group)


def case_type_label(case_type: str | None) -> str:
    """The case type alone ("Complaint"); "" for none, the code itself for one this version does not know."""
    if not case_type:
        return ""
    names = {
        "information.query": QCoreApplication.translate("case_type", "Query"),
        "information.request": QCoreApplication.translate("case_type", "Request"),
        "incident.claim": QCoreApplication.translate("case_type", "Claim"),
        "incident.complaint": QCoreApplication.translate("case_type", "Complaint"),
        "incident.suggestion": QCoreApplication.translate("case_type", "Suggestion"),
        "incident.compliment": QCoreApplication.translate("case_type", "Compliment"),
        "postsale.warranty": QCoreApplication.translate("case_type", "Warranty"),
        "postsale.return": QCoreApplication.translate("case_type", "Return"),
        "postsale.repair": QCoreApplication.translate("case_type", "Repair"),
    }
    return names.get(case_type, case_type)


def case_type_name(case_type: str | None) -> str:
    """The case type with its group ("Incident: complaint"), as lists and reports show it."""
    if not case_type:
        return ""
    names = {
        "information.query": QCoreApplication.translate("case_type", "Information: query"),
        "information.request": QCoreApplication.translate("case_type", "Information: request"),
        "incident.claim": QCoreApplication.translate("case_type", "Incident: claim"),
        "incident.complaint": QCoreApplication.translate("case_type", "Incident: complaint"),
        "incident.suggestion": QCoreApplication.translate("case_type", "Incident: suggestion"),
        "incident.compliment": QCoreApplication.translate("case_type", "Incident: compliment"),
        "postsale.warranty": QCoreApplication.translate("case_type", "Post-sale: warranty"),
        "postsale.return": QCoreApplication.translate("case_type", "Post-sale: return"),
        "postsale.repair": QCoreApplication.translate("case_type", "Post-sale: repair"),
    }
    return names.get(case_type, case_type)


def case_type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """For menus and combo boxes: [(group name, [(case type, label), …]), …] in the usual order."""
    return [(case_group_name(group), [(ct, case_type_label(ct)) for ct in CASE_TYPES if ct.startswith(group + ".")])
            for group in CASE_GROUPS]


def priority_name(priority: str | None) -> str:
    names = {
        "low": QCoreApplication.translate("priority", "Low"),
        "normal": QCoreApplication.translate("priority", "Normal"),
        "high": QCoreApplication.translate("priority", "High"),
        "urgent": QCoreApplication.translate("priority", "Urgent"),
    }
    return names.get(priority or "normal", priority or "")
