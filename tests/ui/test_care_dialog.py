"""The care rules editor against the real team server: it shows the stored rules, saves edits in every tab (and
keeps what it does not show), shows the server's refusal and stays open, refuses input it can check without
sending it, and says when it is offline."""

from __future__ import annotations

import asyncio
import copy
import gc
import socket

import httpx
import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDialog

from tests.integration.helpers import sign_in
from ui.care_dialog import CareDialog, open_care_dialog
from workstation import protocol
from workstation.api import ApiClient
from workstation.settings import Settings

AGENT_EMAIL = "ana@demo.workstation.test"

STORED = {
    "hours": {
        "*": {"timezone": "Europe/Madrid",
              "weekly": {str(d): [["09:00", "14:00"], ["15:00", "18:00"]] for d in range(5)},
              "holidays": [{"date": "2026-12-25", "name": "Navidad"}, "2027-01-01"]},
        "whatsapp": {"timezone": "Europe/Madrid", "always_open": True},
    },
    "sla": {"targets": [
        {"channel": "*", "priority": "*", "first_response_minutes": 60, "next_response_minutes": 120},
        {"channel": "email", "priority": "urgent", "first_response_minutes": 30, "next_response_minutes": None},
    ], "business_hours": False},
    "priority": {
        "languages": {
            "es": {"urgent": ["fraude", "estafa*"], "high": ["no funciona"], "low": [], "negations": ["no", "sin"]},
            "en": {"urgent": ["fraud"], "high": ["refund"], "low": ["kudos"], "negations": ["not"]},
            "fr": {"urgent": ["arnaque"]},  # a language the dialog does not show
        },
        "vip_bump": 2, "repeat_threshold": 4, "repeat_window_minutes": 45,
        "strict_language": True, "bump_ceiling": "high",  # rules the dialog does not show
    },
    "auto_reply": {
        "enabled": False,
        "text": {"es": "Cerrado: {hours}. Puedes {alternative}.", "en": "Closed: {hours}. You can {alternative}.",
                 "fr": "Fermé : {hours}."},
        "alternative": {"es": "llamar al 900 000 000", "en": "call 900 000 000"},
    },
    "reopen_days": 3,
}


def dead_url() -> str:
    """A loopback address nothing listens on: every request fails at once, as offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def store(stack, token: str, settings: dict) -> None:
    r = httpx.put(f"{stack.server_url}/v1/care", json=settings, headers=headers(token))
    assert r.status_code == 200, r.text


def fetch(stack, token: str, lang: str = "en") -> dict:
    """What the server has now: a fresh GET, not anything the dialog kept."""
    r = httpx.get(f"{stack.server_url}/v1/care", params={"lang": lang}, headers=headers(token))
    assert r.status_code == 200, r.text
    return r.json()


def stored_as_sent(settings: dict) -> dict:
    """`settings` as the server gives them back (every CareSettings field, defaults filled in)."""
    return protocol.CareSettings.model_validate(settings).model_dump(mode="json")


@pytest.fixture
def lead(stack, qloop, qtbot):
    """The lead's token and API client, with the stored rules reset to STORED."""
    token, _agent = sign_in(stack)
    store(stack, token, STORED)
    api = ApiClient(stack.server_url, token)
    yield token, api
    closing = asyncio.ensure_future(api.aclose())
    qtbot.waitUntil(closing.done)


class Recorder:
    """Saves through the real client and keeps what was sent."""

    def __init__(self, api: ApiClient, lang: str = "en") -> None:
        self.api, self.lang, self.sent = api, lang, []

    async def __call__(self, settings: protocol.CareSettings) -> protocol.CarePublic:
        self.sent.append(settings)
        return await self.api.set_care(settings, self.lang)


def open_dialog(qtbot, api: ApiClient, save=None, lang: str = "en") -> CareDialog:
    dialog = CareDialog(lambda: api.care(lang), save or (lambda s: api.set_care(s, lang)))
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=10000)
    return dialog


def save(qtbot, dialog: CareDialog) -> protocol.CarePublic:
    with qtbot.waitSignal(dialog.saved, timeout=10000) as signal:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    return signal.args[0]


def holiday_texts(editor) -> list[str]:
    return [editor.holidays.item(r).text() for r in range(editor.holidays.count())]


def test_the_dialog_shows_the_stored_rules(stack, lead, qtbot):
    token, api = lead
    now = fetch(stack, token)["hours_now"]
    dialog = open_dialog(qtbot, api)
    assert not dialog.message.isVisible() and dialog.tabs.isEnabled()

    hours = dialog.hours
    assert [hours.sets.item(r).text() for r in range(hours.sets.count())] == ["Team (all channels)", "WhatsApp"]
    team = hours.editor("*")
    assert team.timezone.currentText() == "Europe/Madrid" and not team.always_open.isChecked()
    assert [team.day_text(d) for d in range(7)] == ["09:00–14:00, 15:00–18:00"] * 5 + ["", ""]
    assert team.holiday_dates() == ["2026-12-25", "2027-01-01"]
    assert holiday_texts(team)[0].endswith(" · Navidad")
    # What the server says about the hours now, in the language asked for.
    assert now["*"]["description"] == "Mon–Fri 09:00–14:00 and 15:00–18:00 (Europe/Madrid)"
    state, saved = team.state.text().split("\n")
    assert state.startswith("Open now; closes " if now["*"]["open"] else "Closed now; opens ")
    assert saved == "As saved: Mon–Fri 09:00–14:00 and 15:00–18:00 (Europe/Madrid)"
    assert team.state.textFormat() == Qt.TextFormat.PlainText
    whatsapp = hours.editor("whatsapp")
    assert whatsapp.always_open.isChecked() and not whatsapp.weekly.isEnabled()
    assert whatsapp.state.text() == "Open now\nAs saved: Open 24 hours, every day"
    assert [hours.new_channel.itemData(i) for i in range(hours.new_channel.count())] == [
        "messenger", "instagram", "x", "telegram", "email"]

    sla = dialog.sla
    assert sla.targets() == STORED["sla"]["targets"]
    assert sla.table.cellWidget(1, 0).currentText() == "Email" and sla.table.cellWidget(0, 1).currentText() == \
        "Any priority"
    assert sla.table.cellWidget(1, 3).text() == "None"
    assert not sla.business_hours.isChecked() and sla.built_in.isHidden()

    priority = dialog.priority
    assert priority.lists[("es", "urgent")].toPlainText() == "fraude\nestafa*"
    assert priority.lists[("es", "negations")].toPlainText() == "no\nsin"
    assert priority.lists[("en", "low")].toPlainText() == "kudos"
    assert {k: s.value() for k, s in priority.numbers.items()} == {
        "vip_bump": 2, "public_bump": 1, "repeat_threshold": 4, "repeat_window_minutes": 45, "negation_window": 3}
    assert priority.built_in.isHidden()

    auto = dialog.auto_reply
    assert not auto.enabled.isChecked()
    assert auto.texts["es"].toPlainText() == "Cerrado: {hours}. Puedes {alternative}."
    assert auto.alternatives["en"].text() == "call 900 000 000"
    assert auto.reopen_days.value() == 3


def test_saving_without_changes_sends_the_rules_back_as_they_were(stack, lead, qtbot):
    token, api = lead
    before = fetch(stack, token)["settings"]
    dialog = open_dialog(qtbot, api)
    save(qtbot, dialog)
    assert fetch(stack, token)["settings"] == before == stored_as_sent(STORED)


def test_the_built_in_rules_are_shown_written_out_so_an_edit_starts_from_them(stack, lead, qtbot):
    from services.teamserver.businesshours import SlaPolicy
    from services.teamserver.priority import DEFAULT_RULES

    token, api = lead
    store(stack, token, {})
    dialog = open_dialog(qtbot, api)
    # The server sends the targets and keyword lists in effect (its built-in ones), not an empty {}.
    defaults = SlaPolicy().model_dump(mode="json")
    assert dialog.sla.table.rowCount() == len(defaults["targets"]) > 0
    assert dialog.priority.lists[("es", "urgent")].toPlainText() == "\n".join(DEFAULT_RULES.languages["es"].urgent)
    assert dialog.hours.editor("*").always_open.isChecked()
    assert dialog.hours.editor("*").state.text() == "Open now\nAs saved: Open 24 hours, every day"
    dialog.auto_reply.reopen_days.setValue(10)
    save(qtbot, dialog)
    stored = fetch(stack, token)["settings"]
    assert (stored["hours"], stored["reopen_days"]) == ({}, 10)
    # Saved as they were shown: the built-in rules, now the team's own, unchanged.
    assert stored["sla"]["targets"] == defaults["targets"]
    assert stored["priority"]["languages"]["es"]["urgent"] == DEFAULT_RULES.languages["es"].urgent


def test_edits_in_every_tab_are_saved_and_the_server_stores_them(stack, lead, qtbot):
    token, api = lead
    dialog = open_dialog(qtbot, api)

    # Hours: the team's zone and week, a holiday, a channel of its own; WhatsApp back to the team's hours.
    hours = dialog.hours
    team = hours.editor("*")
    team.timezone.setCurrentText("America/New_York")
    team.set_day(0, "8:00-12:00; 13:00 - 17:00")
    team.set_day(4, "")
    team.set_day(5, "22:00–02:00")
    team.holidays.setCurrentRow(1)
    qtbot.mouseClick(team.remove_holiday_button, Qt.MouseButton.LeftButton)
    team.holiday_date.setDate(QDate(2027, 1, 6))
    qtbot.mouseClick(team.add_holiday_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(team.add_holiday_button, Qt.MouseButton.LeftButton)  # already there: once
    assert team.holiday_dates() == ["2026-12-25", "2027-01-06"]
    hours.new_channel.setCurrentIndex(hours.new_channel.findData("email"))
    qtbot.mouseClick(hours.add_button, Qt.MouseButton.LeftButton)
    email = hours.editor("email")
    assert hours.pages.currentWidget() is email and email.day_text(0) == "8:00-12:00; 13:00 - 17:00"
    assert email.state.text() == "Not saved yet: the server shows its hours once saved."
    email.set_day(6, "10:00-14:00")
    hours.select("whatsapp")
    qtbot.mouseClick(hours.remove_button, Qt.MouseButton.LeftButton)
    assert hours.keys() == ["*", "email"]

    # Response times: a new row, the email row gone, counted in business hours.
    sla = dialog.sla
    qtbot.mouseClick(sla.add_button, Qt.MouseButton.LeftButton)
    row = sla.table.rowCount() - 1
    sla.table.cellWidget(row, 0).setCurrentIndex(sla.table.cellWidget(row, 0).findData("telegram"))
    sla.table.cellWidget(row, 1).setCurrentIndex(sla.table.cellWidget(row, 1).findData("high"))
    sla.table.cellWidget(row, 2).setValue(20)
    sla.table.cellWidget(row, 3).setValue(40)
    sla.table.selectRow(1)
    qtbot.mouseClick(sla.remove_button, Qt.MouseButton.LeftButton)
    sla.business_hours.setChecked(True)

    # Priority: Spanish urgent keywords (empty lines dropped), English negations, the numbers.
    priority = dialog.priority
    priority.lists[("es", "urgent")].setPlainText("fraude\n\n  estafa*  \ndenuncia\n\n")
    priority.lists[("en", "negations")].setPlainText("not\nnever")
    priority.numbers["vip_bump"].setValue(0)
    priority.numbers["public_bump"].setValue(2)
    priority.numbers["repeat_threshold"].setValue(5)
    priority.numbers["repeat_window_minutes"].setValue(60)
    priority.numbers["negation_window"].setValue(2)

    # Out of hours.
    auto = dialog.auto_reply
    auto.enabled.setChecked(True)
    auto.texts["en"].setPlainText("We open {hours}; meanwhile {alternative}.")
    auto.alternatives["es"].setText("escribirnos a ayuda@example.com")
    auto.reopen_days.setValue(14)

    public = save(qtbot, dialog)
    assert set(public.hours_now) == {"*", "email"}

    settings = fetch(stack, token)["settings"]
    expected = copy.deepcopy(stored_as_sent(STORED))
    expected["hours"] = {
        "*": {"timezone": "America/New_York", "always_open": False,
              "weekly": {"0": [["08:00", "12:00"], ["13:00", "17:00"]], "1": [["09:00", "14:00"], ["15:00", "18:00"]],
                         "2": [["09:00", "14:00"], ["15:00", "18:00"]], "3": [["09:00", "14:00"], ["15:00", "18:00"]],
                         "5": [["22:00", "02:00"]]},
              "holidays": [{"date": "2026-12-25", "name": "Navidad"}, "2027-01-06"]},
        "email": {"timezone": "America/New_York", "always_open": False,
                  "weekly": {"0": [["08:00", "12:00"], ["13:00", "17:00"]], "1": [["09:00", "14:00"], ["15:00", "18:00"]],
                             "2": [["09:00", "14:00"], ["15:00", "18:00"]],
                             "3": [["09:00", "14:00"], ["15:00", "18:00"]], "5": [["22:00", "02:00"]],
                             "6": [["10:00", "14:00"]]},
                  "holidays": [{"date": "2026-12-25", "name": "Navidad"}, "2027-01-06"]},
    }
    expected["sla"] = {"targets": [
        {"channel": "*", "priority": "*", "first_response_minutes": 60, "next_response_minutes": 120},
        {"channel": "telegram", "priority": "high", "first_response_minutes": 20, "next_response_minutes": 40},
    ], "business_hours": True}
    languages = expected["priority"]["languages"]
    languages["es"]["urgent"] = ["fraude", "estafa*", "denuncia"]
    languages["en"]["negations"] = ["not", "never"]
    expected["priority"].update(vip_bump=0, public_bump=2, repeat_threshold=5, repeat_window_minutes=60,
                                negation_window=2)
    expected["auto_reply"]["enabled"] = True
    expected["auto_reply"]["text"]["en"] = "We open {hours}; meanwhile {alternative}."
    expected["auto_reply"]["alternative"]["es"] = "escribirnos a ayuda@example.com"
    expected["reopen_days"] = 14
    assert settings == expected
    # What the dialog does not show came back untouched: French, strict_language, bump_ceiling, a holiday's name.
    assert settings["priority"]["languages"]["fr"] == {"urgent": ["arnaque"]}
    assert settings["priority"]["strict_language"] is True and settings["priority"]["bump_ceiling"] == "high"
    assert settings["auto_reply"]["text"]["fr"] == "Fermé : {hours}."
    # The server reads the new hours as the dialog meant them.
    assert fetch(stack, token)["hours_now"]["email"]["description"] == (
        "Mon 08:00–12:00 and 13:00–17:00, Tue–Thu 09:00–14:00 and 15:00–18:00, Sat 22:00–02:00, Sun 10:00–14:00 "
        "(America/New_York)")


@pytest.mark.parametrize("edit,reason", [
    (lambda d: d.hours.editor("*").set_day(1, "09:00-13:00, 12:00-18:00"),
     "hours of *: business hours intervals overlap"),
    (lambda d: d.priority.lists[("en", "high")].setPlainText("refund\nab*"),
     "priority rules: languages.en.high: keyword 'ab*': at least three letters before *"),
])
def test_a_refusal_by_the_server_shows_its_reason_and_the_dialog_stays_open(stack, lead, qtbot, edit, reason):
    token, api = lead
    recorder = Recorder(api)
    dialog = open_dialog(qtbot, api, recorder)
    edit(dialog)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "refused" in dialog.message.text(), timeout=10000)
    assert len(recorder.sent) == 1
    assert dialog.message.text().startswith("The server refused: these rules cannot be used:")
    assert reason in dialog.message.text()
    # Without pydantic's error type, echo of the input and help link.
    assert "input_value" not in dialog.message.text() and "errors.pydantic.dev" not in dialog.message.text()
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted and dialog.save_button.isEnabled()
    assert fetch(stack, token)["settings"] == stored_as_sent(STORED)
    # Put right, it saves.
    dialog.hours.editor("*").set_day(1, "09:00-13:00")
    dialog.priority.lists[("en", "high")].setPlainText("refund\nabono*")
    save(qtbot, dialog)
    stored = fetch(stack, token)["settings"]
    assert stored["hours"]["*"]["weekly"]["1"] == [["09:00", "13:00"]]
    assert stored["priority"]["languages"]["en"]["high"] == ["refund", "abono*"]


@pytest.mark.parametrize("edit,tab,message", [
    (lambda d: d.hours.editor("*").set_day(2, "25:00-26:00"), 0,
     "Team (all channels), Wednesday: “25:00-26:00” is not a time of day (00:00 to 24:00)."),
    (lambda d: d.hours.editor("*").set_day(2, "9:60-12:00"), 0,
     "Team (all channels), Wednesday: “9:60-12:00” is not a time of day (00:00 to 24:00)."),
    (lambda d: d.hours.editor("*").set_day(0, "9 to 5"), 0,
     "Team (all channels), Monday: “9 to 5” is not an interval: write it as 09:00–18:00."),
    (lambda d: d.hours.editor("*").set_day(3, "10:00-10:00"), 0,
     "Team (all channels), Thursday: “10:00-10:00” starts and ends at the same time; for the whole day write "
     "00:00–24:00."),
    (lambda d: d.hours.add_channel("email").timezone.setCurrentText("Mars/Olympus"), 0,
     "Email: “Mars/Olympus” is not a time zone (for example Europe/Madrid)."),
    (lambda d: d.sla.add_target("email", "urgent", 10, 20), 1, "Two targets for Email with Urgent: keep one."),
    (lambda d: d.priority.lists[("es", "low")].setPlainText("x" * 101), 2,
     "Low (Spanish): “xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…” is longer than 100 characters."),
])
def test_input_the_dialog_can_check_is_refused_without_sending(stack, lead, qtbot, edit, tab, message):
    token, api = lead
    recorder = Recorder(api)
    dialog = open_dialog(qtbot, api, recorder)
    dialog.tabs.setCurrentIndex(3)
    edit(dialog)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == message and dialog.message.isVisible()
    assert dialog.tabs.currentIndex() == tab  # the problem is in view
    qtbot.wait(200)
    assert recorder.sent == [] and dialog.isVisible() and dialog.save_button.isEnabled()
    assert fetch(stack, token)["settings"] == stored_as_sent(STORED)


def test_a_bad_time_shows_its_day_in_the_right_set_of_hours(stack, lead, qtbot):
    _token, api = lead
    recorder = Recorder(api)
    dialog = open_dialog(qtbot, api, recorder)
    dialog.hours.add_channel("telegram").set_day(4, "18:00-7")
    dialog.hours.select("*")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Telegram, Friday: “18:00-7” is not a time of day (00:00 to 24:00)."
    editor = dialog.hours.editor("telegram")
    assert dialog.hours.pages.currentWidget() is editor and editor.weekly.currentRow() == 4
    assert recorder.sent == []


def test_always_open_hours_drop_the_week_and_holidays_the_server_would_refuse(stack, lead, qtbot):
    token, api = lead
    dialog = open_dialog(qtbot, api)
    team = dialog.hours.editor("*")
    team.always_open.setChecked(True)
    assert not team.weekly.isEnabled() and not team.add_holiday_button.isEnabled()
    team.set_day(0, "not even a time")  # not read while always open
    save(qtbot, dialog)
    assert fetch(stack, token)["settings"]["hours"]["*"] == {
        "timezone": "Europe/Madrid", "always_open": True, "weekly": {}, "holidays": []}


def test_offline_loading_says_so_and_nothing_can_be_edited(qloop, qtbot):
    api = ApiClient(dead_url(), "token")
    dialog = CareDialog(lambda: api.care("en"), lambda s: api.set_care(s, "en"))
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: "offline" in dialog.message.text(), timeout=10000)
    assert dialog.message.text() == "You are offline; try again when connected."
    assert not dialog.save_button.isEnabled() and not dialog.tabs.isEnabled()
    closing = asyncio.ensure_future(api.aclose())
    qtbot.waitUntil(closing.done)


def test_offline_saving_says_so_and_keeps_the_edits(stack, lead, qtbot):
    token, api = lead
    offline = ApiClient(dead_url(), token)
    dialog = open_dialog(qtbot, api, lambda s: offline.set_care(s, "en"))
    dialog.auto_reply.reopen_days.setValue(30)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "offline" in dialog.message.text(), timeout=10000)
    assert dialog.message.text() == "You are offline; try again when connected."
    assert dialog.isVisible() and dialog.save_button.isEnabled() and dialog.auto_reply.reopen_days.value() == 30
    assert fetch(stack, token)["settings"]["reopen_days"] == 3
    closing = asyncio.ensure_future(offline.aclose())
    qtbot.waitUntil(closing.done)


def test_open_care_dialog_from_the_main_window(stack, lead, qtbot, tmp_path):
    from ui.app import open_window

    opened = []
    for email in (stack.lead_email, AGENT_EMAIL):
        token, agent = sign_in(stack, email)
        win, workspace = open_window(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                                     language="es", cache_path=tmp_path / f"cache-{agent['id']}.sqlite",
                                     settings=Settings(tmp_path / f"settings-{agent['id']}.json"))
        opened.append((win, workspace))  # closed below (a second close from qtbot would disconnect twice)
    try:
        (lead_window, _), (agent_window, _) = opened
        assert open_care_dialog(agent_window) is None  # agents cannot change the rules
        dialog = open_care_dialog(lead_window)
        assert dialog is not None and dialog.parent() is lead_window and dialog.isVisible()
        qtbot.waitUntil(dialog.save_button.isEnabled, timeout=10000)
        assert open_care_dialog(lead_window) is dialog  # one at a time
        # Loaded in the window's language: the server describes the hours in Spanish.
        assert dialog.hours.editor("*").state.text().endswith(
            "As saved: lun–vie 09:00–14:00 y 15:00–18:00 (Europe/Madrid)")
        dialog.priority.numbers["negation_window"].setValue(5)
        save(qtbot, dialog)
        assert fetch(stack, lead[0])["settings"]["priority"]["negation_window"] == 5
    finally:
        for win, workspace in opened:
            win.close()
            stopping = asyncio.ensure_future(workspace.stop())
            qtbot.waitUntil(stopping.done, timeout=10000)
        gc.collect()
        qtbot.wait(20)


def test_the_satisfaction_survey_tab_saves_the_switch_texts_and_window(stack, lead, qtbot):
    token, api = lead
    dialog = open_dialog(qtbot, api)
    csat = dialog.csat
    assert not csat.enabled.isChecked() and csat.answer_hours.value() == 72  # the server's defaults
    assert csat.questions["es"].toPlainText().startswith("¿Cómo valorarías")
    csat.enabled.setChecked(True)
    csat.answer_hours.setValue(24)
    csat.thanks["en"].setText("Thanks a lot!")
    save(qtbot, dialog)
    stored = fetch(stack, token)["settings"]["csat"]
    assert stored["enabled"] is True and stored["answer_hours"] == 24
    assert stored["thanks"]["en"] == "Thanks a lot!"
    assert stored["thanks"]["es"] == protocol.CsatSettings().thanks["es"]  # untouched: as it was


def test_an_emptied_survey_text_is_refused_without_sending(stack, lead, qtbot):
    token, api = lead
    recorder = Recorder(api)
    dialog = open_dialog(qtbot, api, recorder)
    dialog.csat.questions["en"].setPlainText("   ")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert recorder.sent == [] and dialog.message.text() == "The survey's texts cannot be empty."
    assert dialog.tabs.currentWidget() is dialog.csat
