"""The dashboard with a report made here: its cards, charts and tables show the report's figures (and agree with
each other), CSV and PDF export, the date ranges in the user's time zone, an agent's narrower view, the lead's
cost model, refreshing every minute and staying put when offline."""

from __future__ import annotations

import asyncio
import csv
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCharts import QPieSeries
from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QWidget

from ui.dashboard import CostModelEditor, DashboardWindow, open_dashboard
from ui.dashboard_charts import bar_values
from ui.dashboard_model import CsvRole, KpiFormat, preset_range
from workstation import protocol as P
from workstation.errors import NetworkError, ServerError

MADRID = "Europe/Madrid"
NOW = datetime(2025, 5, 7, 10, 30, tzinfo=timezone.utc)


def dist(count: int, median: float | None, p90: float | None) -> P.Distribution:
    return P.Distribution(count=count, median=median, p90=p90, mean=median)


def cost_row(channel: str, resolved: int, replies: int) -> P.CostRow:
    hours = replies * 3 / 60
    cost = hours * 18
    baseline = resolved * 0.8 * 4.5
    return P.CostRow(channel=channel, resolved=resolved, replies=replies, agent_hours=hours, cost=cost,
                     cost_per_resolved=cost / resolved if resolved else None, phone_baseline=baseline,
                     saving=baseline - cost, roi=(baseline - cost) / cost if cost else None)


def agent_row(agent_id: int, name: str, conversations: int) -> P.KpiRow:
    return P.KpiRow(key=str(agent_id), label=name, conversations=conversations, inbound=conversations * 3,
                    outbound=conversations * 2, resolved=conversations - 5, reopened=2,
                    reopen_rate=2 / (conversations - 5), first_response=dist(conversations, 250, 1500),
                    sla_met=conversations - 10, sla_total=conversations,
                    sla_compliance=(conversations - 10) / conversations, csat_count=10, csat_average=4.5)


def make_report(*, agents: int = 3, tz: str = MADRID) -> P.KpiReport:
    by_channel = [
        P.KpiRow(key="whatsapp", label="WhatsApp", conversations=180, inbound=620, outbound=540, resolved=150,
                 reopened=9, reopen_rate=0.06, first_response=dist(170, 240, 1260),
                 next_response=dist(400, 180, 900), resolution=dist(150, 5400, 86400), sla_met=160, sla_total=175,
                 sla_compliance=160 / 175, csat_count=60, csat_average=4.4, csat_sent=120),
        P.KpiRow(key="email", label="Email", conversations=40, inbound=70, outbound=65, resolved=35, reopened=3,
                 reopen_rate=3 / 35, first_response=dist(38, 5400, 20000), next_response=dist(30, 3600, 14000),
                 resolution=dist(35, 90000, 300000), sla_met=30, sla_total=38, sla_compliance=30 / 38,
                 csat_count=5, csat_average=3.6, csat_sent=30),
    ]
    totals = P.KpiRow(key="all", label="", conversations=220, inbound=690, outbound=605, resolved=185, reopened=12,
                      reopen_rate=12 / 185, first_response=dist(208, 300, 2700), next_response=dist(430, 200, 1100),
                      resolution=dist(185, 6300, 120000), sla_met=190, sla_total=213, sla_compliance=190 / 213,
                      csat_count=65, csat_average=4.3, csat_sent=150)
    names = ["Ana García", "Ben Ortiz", "Lea Lead"] + [f"Agent {i}" for i in range(4, agents + 1)]
    return P.KpiReport(
        start=datetime(2025, 5, 1, tzinfo=ZoneInfo(tz)), end=datetime(2025, 5, 8, tzinfo=ZoneInfo(tz)), timezone=tz,
        totals=totals, by_channel=by_channel,
        by_agent=[agent_row(i + 1, names[i], 60 + i) for i in range(agents)],
        volume_by_hour=[2, 1, 0, 0, 0, 1, 4, 12, 38, 71, 88, 95, 80, 66, 70, 84, 90, 76, 52, 40, 31, 22, 12, 5],
        volume_by_weekday=[180, 165, 150, 140, 130, 80, 55],
        backlog=P.Backlog(open=23, waiting=14, breached=3, oldest_wait_seconds=3 * 3600 + 300,
                          age={"<1h": 8, "1-4h": 4, "4-24h": 1, "1-3d": 1, ">3d": 0}),
        case_types={"information.query": 80, "incident.complaint": 40, "postsale.return": 30, "": 35},
        sentiment={"negative": 120, "neutral": 400, "positive": 170},
        csat_scores={"1": 4, "2": 5, "3": 8, "4": 20, "5": 28},
        cost_settings=P.CostSettings(currency="EUR", agent_cost_per_hour=18, handle_minutes_per_reply=3,
                                     phone_cost_per_contact=4.5, call_deflection=0.8),
        cost=[cost_row("whatsapp", 150, 540), cost_row("email", 35, 65), cost_row("all", 185, 605)])


class FakeServer:
    """The `load` and `save` coroutines the window is given: records the requests, answers with `report` (or
    raises `error`)."""

    def __init__(self, report: P.KpiReport | None = None) -> None:
        self.report = report or make_report()
        self.error: Exception | None = None
        self.calls: list[tuple] = []
        self.saved: list[P.CostSettings] = []

    async def load(self, start, end, tz, channel, agent_id) -> P.KpiReport:
        self.calls.append((start, end, tz, channel, agent_id))
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        return self.report

    async def save(self, body: P.CostSettings) -> P.CostSettings:
        self.saved.append(body)
        self.report = self.report.model_copy(update={"cost_settings": body})
        return body


@pytest.fixture
def make_window(qloop, qtbot):
    def make(*, is_lead: bool = True, server: FakeServer | None = None, language: str = "en",
             wait: bool = True) -> tuple[DashboardWindow, FakeServer]:
        server = server or FakeServer()
        window = DashboardWindow(server.load, is_lead=is_lead, agents={1: "Ana García", 2: "Ben Ortiz"},
                                 language=language, timezone_name=MADRID, save_cost_settings=server.save,
                                 now=lambda: NOW)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        if wait:
            with qtbot.waitSignal(window.report_shown, timeout=5000):
                window.start()
        return window, server

    yield make


def pie_values(window: DashboardWindow, name: str) -> dict[str, float]:
    series = window.charts[name].chart().series()[0]
    assert isinstance(series, QPieSeries)
    markers = window.charts[name].chart().legend().markers(series)
    return {m.label(): s.value() for m, s in zip(markers, series.slices())}


def bar_chart(window: DashboardWindow, name: str) -> dict[str, float]:
    axis = window.charts[name].chart().axes()[0]
    return dict(zip(axis.categories(), bar_values(window.charts[name])))


def cell(model, row_key: str, column: int, role=None):
    row = next(i for i, r in enumerate(model.rows()) if model.key_of(r) == row_key)
    index = model.index(row, column)
    return index.data() if role is None else index.data(role)


# -- what is shown --------------------------------------------------------------------------------------------
def test_cards_show_the_reports_totals(make_window):
    window, _server = make_window()
    shown = {key: (card.value.text(), card.detail.text()) for key, card in window.cards.items()}
    assert shown == {
        "conversations": ("220", "690 customer messages · 605 replies"),
        "first_response": ("5 min", "90% within 45 min"),
        "next_response": ("3 min", "90% within 18 min"),
        "resolution": ("1 h 45 min", "185 resolved"),
        "sla": ("89.2%", "190 of 213 responses on target"),
        "csat": ("4.3 / 5", "65 answers · 150 surveys sent"),
        "reopen": ("6.5%", "12 of 185 resolved had been reopened"),
        "backlog": ("23 open", "14 waiting · 3 past target · oldest wait 3 h 5 min"),
        "cost": ("€2.94", "€544.50 of agent time in all"),
        "saving": ("€121.50", "Phone would have cost €666.00 · return 22.3%"),
    }


def test_charts_plot_the_reports_series(make_window):
    window, server = make_window()
    report = server.report
    assert bar_values(window.charts["chart_volume_by_hour"]) == report.volume_by_hour
    assert bar_chart(window, "chart_volume_by_weekday") == dict(
        zip(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], report.volume_by_weekday))
    assert bar_chart(window, "chart_csat") == {"1": 4, "2": 5, "3": 8, "4": 20, "5": 28}
    # Axis labels are rich text: "<" is escaped there.
    assert bar_chart(window, "chart_backlog_age") == {"&lt; 1 h": 8, "1–4 h": 4, "4–24 h": 1, "1–3 d": 1, "&gt; 3 d": 0}
    assert bar_chart(window, "chart_case_types") == {"Query": 80, "Complaint": 40, "Return": 30, "No case type": 35}
    # Horizontal bars are listed bottom-up, so the first case type is drawn at the top.
    assert window.charts["chart_case_types"].chart().axes()[0].categories()[-1] == "Query"
    assert pie_values(window, "chart_volume_by_channel") == {"WhatsApp 89.9%": 620, "Email 10.1%": 70}
    assert pie_values(window, "chart_sentiment") == {"Negative 17.4%": 120, "Neutral 58.0%": 400,
                                                     "Positive 24.6%": 170}
    assert window.charts["chart_volume_by_hour"].chart().title() == "Customer messages by hour (Europe/Madrid)"


def test_tables_show_the_report_and_agree_with_the_cards(make_window):
    window, server = make_window()
    channels = window.channel_model
    assert channels.table() == [
        ["WhatsApp", "180", "620", "540", "150", "4 min", "21 min", "3 min", "1 h 30 min", "91.4%", "4.4", "60",
         "6.0%"],
        ["Email", "40", "70", "65", "35", "1 h 30 min", "5 h 33 min", "1 h", "1 d 1 h", "78.9%", "3.6", "5", "8.6%"],
        ["All channels", "220", "690", "605", "185", "5 min", "45 min", "3 min", "1 h 45 min", "89.2%", "4.3", "65",
         "6.5%"],
    ]
    # The totals row says what the cards say.
    totals = dict(zip([h.replace("\n", " ") for h in channels.headers()], channels.table()[-1]))
    cards = window.cards
    assert totals["Conversations"] == cards["conversations"].value.text()
    assert totals["First response median"] == cards["first_response"].value.text()
    assert totals["First response 90th percentile"] in cards["first_response"].detail.text()
    assert totals["Next response median"] == cards["next_response"].value.text()
    assert totals["Resolution median"] == cards["resolution"].value.text()
    assert totals["SLA compliance"] == cards["sla"].value.text()
    assert cards["csat"].value.text().startswith(totals["CSAT"])
    assert totals["Reopen rate"] == cards["reopen"].value.text()
    # Channel by channel, the pie's slices are the table's customer messages.
    assert sorted(pie_values(window, "chart_volume_by_channel").values()) == sorted(
        float(row[2]) for row in channels.table()[:-1])

    assert [row[:2] for row in window.agent_model.table()] == [["Ana García", "60"], ["Ben Ortiz", "61"],
                                                               ["Lea Lead", "62"]]
    assert window.agent_view.isVisibleTo(window)

    costs = dict(zip([h.replace("\n", " ") for h in window.cost_model.headers()], window.cost_model.table()[-1]))
    assert costs["Channel"] == "All channels"
    assert costs["Cost per resolved"] == window.cards["cost"].value.text() == "€2.94"
    assert costs["Saving vs phone"] == window.cards["saving"].value.text()
    assert cell(window.cost_model, "whatsapp", 3) == "27.0"  # agent hours: 540 replies × 3 min
    assert window.channel_view.model().rowCount() == 3 and window.cost_view.model().rowCount() == 3


def test_figures_are_written_in_the_users_language(make_window):
    window, _server = make_window(language="es")
    assert window.cards["sla"].value.text() == "89,2%"
    assert window.cards["cost"].value.text() == "2,94\xa0€"  # with a no-break space
    assert window.cards["conversations"].detail.text() == "690 customer messages · 605 replies"  # no .qm loaded
    assert bar_chart(window, "chart_volume_by_weekday").keys() == {"lun", "mar", "mié", "jue", "vie", "sáb", "dom"}
    assert KpiFormat("es").count(12345) == "12.345"
    assert KpiFormat("en").count(12345) == "12,345"


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "–"), (0, "0 s"), (44.6, "45 s"), (240, "4 min"), (3599, "1 h"), (3600, "1 h"), (4800, "1 h 20 min"),
    (86400, "1 d"), (90000, "1 d 1 h"),
])
def test_durations_read_like_speech(qapp, seconds, text):
    assert KpiFormat("en").duration(seconds) == text


def test_an_empty_report_shows_dashes_and_empty_charts(make_window):
    empty = P.KpiReport(start=NOW, end=NOW + timedelta(days=1), timezone=MADRID, totals=P.KpiRow(key="all", label=""))
    window, _server = make_window(server=FakeServer(empty))
    assert window.cards["first_response"].value.text() == "–"
    assert window.cards["cost"].value.text() == "–"
    assert bar_values(window.charts["chart_volume_by_hour"]) == [0] * 24
    assert window.charts["chart_csat"].chart().title() == "Satisfaction answers by score · no data"
    assert window.charts["chart_volume_by_channel"].chart().series()[0].count() == 0
    assert window.channel_model.table() == [["All channels", "0", "0", "0", "0", "–", "–", "–", "–", "–", "–", "0",
                                             "–"]]


# -- export -----------------------------------------------------------------------------------------------
def test_csv_export_writes_one_file_per_table_with_the_tables_rows(make_window, tmp_path):
    window, _server = make_window()
    files = window.export_csv(tmp_path / "out")
    assert [f.name for f in files] == ["kpis-by-channel_2025-05-01_2025-05-07.csv",
                                       "kpis-by-agent_2025-05-01_2025-05-07.csv",
                                       "cost-per-channel_2025-05-01_2025-05-07.csv"]
    for path, model in zip(files, (window.channel_model, window.agent_model, window.cost_model)):
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
        assert rows[0] == model.headers(CsvRole)
        assert rows[1:] == model.table(CsvRole)
        assert len(rows) - 1 == model.rowCount() > 0
        assert [r[0] for r in rows[1:]] == [r[0] for r in model.table()]  # the same rows as on screen
    with open(files[0], newline="", encoding="utf-8-sig") as f:
        by_channel = {r["Channel"]: r for r in csv.DictReader(f)}
    # Plain numbers a spreadsheet can add up: durations in minutes, shares in percent.
    assert by_channel["WhatsApp"]["Conversations"] == "180"
    assert by_channel["WhatsApp"]["First response median (min)"] == "4.0"
    assert by_channel["Email"]["Resolution median (min)"] == "1500.0"
    assert by_channel["All channels"]["SLA compliance (%)"] == "89.2"
    assert by_channel["All channels"]["CSAT average (1-5)"] == "4.30"
    with open(files[2], newline="", encoding="utf-8-sig") as f:
        cost = {r["Channel"]: r for r in csv.DictReader(f)}
    assert cost["All channels"]["Cost (EUR)"] == "544.50"
    assert cost["All channels"]["Saving vs phone (EUR)"] == "121.50"


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def test_pdf_export_lays_the_dashboard_over_a4_pages(make_window, qtbot, tmp_path):
    window, server = make_window()
    path = tmp_path / "dashboard.pdf"
    pages = window.export_pdf(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert pages == pdf_pages(data) == 2  # cards and charts, then the last charts and the tables
    assert re.search(rb"/MediaBox\s*\[\s*0 0 595(\.0+)? 842(\.0+)?\s*\]", data)  # A4 in points

    # Many agents: the agents' table goes on over further pages.
    server.report = make_report(agents=120)
    with qtbot.waitSignal(window.report_shown):
        window.refresh()
    longer = tmp_path / "long.pdf"
    assert window.export_pdf(longer) == pdf_pages(longer.read_bytes()) >= 4


# -- date ranges ------------------------------------------------------------------------------------------
def test_range_presets_are_local_calendar_days():
    madrid = ZoneInfo(MADRID)
    # Sunday 30 March 2025: Madrid moves its clocks forward at 02:00, so "today" is 23 hours long.
    now = datetime(2025, 3, 30, 10, 0, tzinfo=timezone.utc)
    today = preset_range("today", now, MADRID)
    assert today == (datetime(2025, 3, 30, tzinfo=madrid), datetime(2025, 3, 31, tzinfo=madrid))
    assert [t.utcoffset() for t in today] == [timedelta(hours=1), timedelta(hours=2)]
    assert today[1].astimezone(timezone.utc) - today[0].astimezone(timezone.utc) == timedelta(hours=23)
    assert preset_range("7d", now, MADRID) == (datetime(2025, 3, 24, tzinfo=madrid), datetime(2025, 3, 31, tzinfo=madrid))
    assert preset_range("30d", now, MADRID)[0] == datetime(2025, 3, 1, tzinfo=madrid)
    assert preset_range("month", now, MADRID) == (datetime(2025, 3, 1, tzinfo=madrid),
                                                  datetime(2025, 3, 31, tzinfo=madrid))
    assert preset_range("custom", now, MADRID, (date(2025, 3, 12), date(2025, 3, 10))) == (
        datetime(2025, 3, 10, tzinfo=madrid), datetime(2025, 3, 13, tzinfo=madrid))
    # The local day, not the UTC one: 23:30 UTC on 1 May is already 2 May in Madrid, still 1 May in Los Angeles.
    late = datetime(2025, 5, 1, 23, 30, tzinfo=timezone.utc)
    assert preset_range("today", late, MADRID)[0] == datetime(2025, 5, 2, tzinfo=madrid)
    la = ZoneInfo("America/Los_Angeles")
    assert preset_range("today", late, "America/Los_Angeles") == (datetime(2025, 5, 1, tzinfo=la),
                                                                  datetime(2025, 5, 2, tzinfo=la))
    assert preset_range("month", datetime(2025, 6, 1, 3, tzinfo=timezone.utc), "America/Los_Angeles")[0] == \
        datetime(2025, 5, 1, tzinfo=la)


def test_the_range_and_filters_picked_are_what_is_asked_for(make_window, qtbot):
    window, server = make_window()
    madrid = ZoneInfo(MADRID)
    assert server.calls[-1] == (datetime(2025, 5, 1, tzinfo=madrid), datetime(2025, 5, 8, tzinfo=madrid), MADRID,
                                None, None)
    assert not window.from_edit.isVisibleTo(window)

    with qtbot.waitSignal(window.report_shown):
        window.range_combo.setCurrentIndex(window.range_combo.findData("today"))
    assert server.calls[-1][:2] == (datetime(2025, 5, 7, tzinfo=madrid), datetime(2025, 5, 8, tzinfo=madrid))

    with qtbot.waitSignal(window.report_shown):
        window.range_combo.setCurrentIndex(window.range_combo.findData("custom"))
    assert window.from_edit.isVisibleTo(window) and window.to_edit.isVisibleTo(window)
    with qtbot.waitSignal(window.report_shown):
        window.from_edit.setDate(QDate(2025, 4, 2))
    assert server.calls[-1][:2] == (datetime(2025, 4, 2, tzinfo=madrid), datetime(2025, 5, 8, tzinfo=madrid))
    with qtbot.waitSignal(window.report_shown):
        window.to_edit.setDate(QDate(2025, 3, 20))  # before "from": "from" follows
    assert window.from_edit.date() == QDate(2025, 3, 20)
    assert server.calls[-1][:2] == (datetime(2025, 3, 20, tzinfo=madrid), datetime(2025, 3, 21, tzinfo=madrid))

    with qtbot.waitSignal(window.report_shown):
        window.channel_combo.setCurrentIndex(window.channel_combo.findData("email"))
    with qtbot.waitSignal(window.report_shown):
        window.agent_combo.setCurrentIndex(window.agent_combo.findData(2))
    assert server.calls[-1][2:] == (MADRID, "email", 2)
    assert window.agent_combo.currentText() == "Ben Ortiz"
    # The report names a third agent: the lead can pick them too.
    assert window.agent_combo.findData(3) >= 0 and window.agent_combo.itemText(window.agent_combo.findData(3)) == \
        "Lea Lead"


# -- an agent's dashboard ---------------------------------------------------------------------------------
def test_an_agent_sees_their_own_figures_without_team_controls(make_window, tmp_path):
    server = FakeServer(make_report(agents=1))
    window, server = make_window(is_lead=False, server=server)
    assert not window.agent_combo.isVisibleTo(window)
    assert not window.agent_view.isVisibleTo(window) and not window.agent_title.isVisibleTo(window)
    assert window.cost_editor is None and window.findChild(CostModelEditor) is None
    assert window.cards["first_response"].value.text() == "5 min"
    assert "your own figures" in window.status.text()
    window.agent_combo.setCurrentIndex(1)  # even if it were somehow picked, an agent asks for no one else
    assert window.current_agent() is None
    assert all(call[4] is None for call in server.calls)
    assert [f.name.split("_")[0] for f in window.export_csv(tmp_path)] == ["kpis-by-channel", "cost-per-channel"]


def test_a_lead_sees_the_team_controls(make_window):
    window, _server = make_window(is_lead=True)
    assert window.agent_combo.isVisibleTo(window)
    assert window.cost_editor is not None and window.cost_editor.isVisibleTo(window)


# -- the cost model -----------------------------------------------------------------------------------------
def test_the_cost_model_is_saved_and_the_figures_reloaded(make_window, qtbot):
    window, server = make_window()
    editor = window.cost_editor
    assert (editor.currency.text(), editor.agent_cost.value(), editor.handle_minutes.value(),
            editor.phone_cost.value(), editor.deflection.value()) == ("EUR", 18, 3, 4.5, 80)
    editor.currency.clear()
    qtbot.keyClicks(editor.currency, "usd")
    editor.agent_cost.setValue(22.5)
    editor.handle_minutes.setValue(4)
    editor.phone_cost.setValue(6)
    editor.deflection.setValue(50)
    calls = len(server.calls)
    with qtbot.waitSignal(window.report_shown, timeout=5000):
        editor.save_button.click()
    assert server.saved == [P.CostSettings(currency="USD", agent_cost_per_hour=22.5, handle_minutes_per_reply=4,
                                           phone_cost_per_contact=6, call_deflection=0.5)]
    assert len(server.calls) == calls + 1  # reloaded with the new model
    assert editor.message.text() == "Saved. The cost figures now use this model."
    assert window.cost_model.headers(CsvRole)[4] == "Cost (USD)"
    assert window.cards["cost"].value.text() == "$2.94"


def test_a_refused_or_invalid_cost_model_is_not_taken(make_window, qtbot):
    window, server = make_window()
    editor = window.cost_editor
    editor.currency.clear()
    editor.save_button.click()
    assert editor.message.text() == "Write a currency code (up to 8 letters)."
    assert server.saved == []

    async def refuse(body):
        raise ServerError(403, "only a lead can change the cost model")

    editor._save = refuse
    editor.currency.setText("EUR")
    editor.save_button.click()
    qtbot.waitUntil(lambda: editor.message.text() == "Not allowed: only a lead can change the cost model")
    assert editor.save_button.isEnabled() and editor.dirty


def test_reloading_keeps_a_cost_model_being_edited(make_window, qtbot):
    window, _server = make_window()
    window.cost_editor.agent_cost.setValue(30)
    with qtbot.waitSignal(window.report_shown):
        window.refresh()
    assert window.cost_editor.agent_cost.value() == 30


# -- refreshing and offline ---------------------------------------------------------------------------------
def test_it_reloads_every_minute_while_shown(make_window, qtbot):
    window, server = make_window()
    assert window._tick.isActive() and window._tick.interval() == 60_000
    calls = len(server.calls)
    with qtbot.waitSignal(window.report_shown):
        window._tick.timeout.emit()
    assert len(server.calls) == calls + 1
    window.hide()
    assert not window._tick.isActive()
    window._tick.timeout.emit()  # a timeout already queued when it was hidden: nothing is read
    qtbot.wait(50)
    assert len(server.calls) == calls + 1
    window.show()
    assert window._tick.isActive()


def test_offline_it_says_so_and_keeps_the_last_figures(make_window, qtbot):
    window, server = make_window()
    server.error = NetworkError("no route")
    with qtbot.waitSignal(window.load_failed) as failed:
        window.refresh_button.click()
    assert failed.args[0].startswith("You are offline: these are the figures as of ")
    assert window.notice.isVisibleTo(window) and window.notice.text() == failed.args[0]
    assert window.cards["first_response"].value.text() == "5 min"
    assert bar_values(window.charts["chart_volume_by_hour"]) == server.report.volume_by_hour
    assert window.channel_model.rowCount() == 3 and window.csv_button.isEnabled()

    server.error = None
    with qtbot.waitSignal(window.report_shown):
        window.refresh_button.click()
    assert not window.notice.isVisibleTo(window)


def test_offline_from_the_start(make_window, qtbot):
    server = FakeServer()
    server.error = NetworkError("no route")
    window, _ = make_window(server=server, wait=False)
    with qtbot.waitSignal(window.load_failed) as failed:
        window.start()
    assert failed.args == ["You are offline: the figures load once you are connected again."]
    assert window.cards["sla"].value.text() == "–"
    assert not window.csv_button.isEnabled() and not window.pdf_button.isEnabled()


# -- from the main window -----------------------------------------------------------------------------------
class FakeApi:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.requests: list[tuple] = []

    async def kpis(self, start, end, *, tz="UTC", channel=None, agent_id=None):
        self.requests.append((start, end, tz, channel, agent_id))
        return await self.server.load(start, end, tz, channel, agent_id)

    async def set_cost_settings(self, body):
        return await self.server.save(body)


class FakeWorkspace:
    def __init__(self, role: str, server: FakeServer) -> None:
        self.api = FakeApi(server)
        self.agent = P.AgentPublic(id=1, email="lea@t.test", name="Lea", role=role, timezone="America/Bogota")

    async def agent_names(self) -> dict[int, str]:
        return {1: "Lea", 5: "Zoe"}


class FakeMainWindow(QWidget):
    closed = Signal()

    def __init__(self, workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.language = "en"


@pytest.mark.parametrize("role", ["lead", "agent"])
def test_open_dashboard_reads_through_the_workspaces_api(qloop, qtbot, role):
    main = FakeMainWindow(FakeWorkspace(role, FakeServer()))
    qtbot.addWidget(main)
    window = open_dashboard(main)
    qtbot.waitUntil(lambda: window.report is not None)
    assert open_dashboard(main) is window  # one dashboard per main window
    request = main.workspace.api.requests[0]
    assert request[2] == "America/Bogota"  # the agent's own zone
    assert window.is_lead == (role == "lead")
    assert (window.cost_editor is not None) == (role == "lead")
    if role == "lead":
        qtbot.waitUntil(lambda: window.agent_combo.findData(5) >= 0)
    main.closed.emit()
    qtbot.waitUntil(lambda: not window.isVisible())


# -- against the real team server ---------------------------------------------------------------------------
def test_the_dashboard_shows_the_servers_figures(stack, qloop, qtbot):
    """A customer writes, Ana answers; the lead's dashboard (built by open_dashboard on the real ApiClient)
    shows what GET /v1/kpis says for the same range, and saving the cost model reprices it."""
    import httpx

    from tests.integration.helpers import inbound, sign_in, sync_all, wait_for
    from workstation.api import ApiClient

    lead_token, lead = sign_in(stack)
    ana_token, ana = sign_in(stack, "ana@demo.workstation.test")
    wa_id = "3466" + str(uuid.uuid4().int)[:7]
    text = f"¿dónde está mi pedido? {wa_id}"
    inbound(stack, wa_id=wa_id, name="Cliente", text=text)

    def conversation_id():
        page = sync_all(stack, lead_token)
        return next((m["conversation_id"] for m in page["messages"] if m["text"] == text), None)

    conv = wait_for(conversation_id, what="the customer's message")
    r = httpx.post(f"{stack.server_url}/v1/conversations/{conv}/messages", json={"text": "Lo miro ahora mismo"},
                   headers={"Authorization": f"Bearer {ana_token}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text

    api = ApiClient(stack.server_url, lead_token)
    workspace = FakeWorkspace("lead", FakeServer())
    workspace.api = api
    workspace.agent = P.AgentPublic.model_validate({**lead, "timezone": MADRID})
    main = FakeMainWindow(workspace)
    qtbot.addWidget(main)
    try:
        window = open_dashboard(main)
        qtbot.waitUntil(lambda: window.report is not None, timeout=15000)
        with qtbot.waitSignal(window.report_shown, timeout=15000):
            window.range_combo.setCurrentIndex(window.range_combo.findData("today"))
        start, end = window.current_range()

        def server_report() -> P.KpiReport:
            got = httpx.get(f"{stack.server_url}/v1/kpis", headers={"Authorization": f"Bearer {lead_token}"},
                            params={"start": start.isoformat(), "end": end.isoformat(), "tz": MADRID})
            assert got.status_code == 200, got.text
            return P.KpiReport.model_validate(got.json())

        report = server_report()
        assert report.totals.inbound >= 1 and report.totals.outbound >= 1 and report.totals.first_response.count >= 1
        shown = {key: card.value.text() for key, card in window.cards.items()}
        assert shown == {c.key: c.value for c in window.card_data(report)}
        assert shown["conversations"] == str(report.totals.conversations)
        assert bar_values(window.charts["chart_volume_by_hour"]) == report.volume_by_hour
        assert bar_values(window.charts["chart_volume_by_hour"])[datetime.now(ZoneInfo(MADRID)).hour] >= 1
        assert pie_values(window, "chart_volume_by_channel") == {
            label: value for label, value in zip(window.chart_specs(report)[2].slice_labels,
                                                 [row.inbound for row in report.by_channel])}
        whatsapp = next(r for r in report.by_channel if r.key == "whatsapp")
        assert window.channel_model.table()[0][:5] == ["WhatsApp", str(whatsapp.conversations), str(whatsapp.inbound),
                                                       str(whatsapp.outbound), str(whatsapp.resolved)]
        ana_figures = next(r for r in report.by_agent if r.key == str(ana["id"]))
        assert ana_figures.outbound >= 1
        assert [row[3] for row in window.agent_model.table() if row[0] == ana_figures.label] == [
            str(ana_figures.outbound)]

        # The lead prices the agent time differently: saved on the server, and the figures follow.
        editor = window.cost_editor
        editor.agent_cost.setValue(60)
        editor.handle_minutes.setValue(10)
        with qtbot.waitSignal(window.report_shown, timeout=15000):
            editor.save_button.click()
        repriced = server_report()
        assert repriced.cost_settings.agent_cost_per_hour == 60
        assert window.cards["cost"].value.text() == window.card_data(repriced)[8].value
        total = next(c for c in repriced.cost if c.channel == "all")
        assert total.agent_hours == pytest.approx(total.replies * 10 / 60, abs=0.001)
        assert window.cost_model.table()[-1][:4] == ["All channels", str(total.resolved), str(total.replies),
                                                     f"{total.agent_hours:.1f}"]
    finally:
        main.closed.emit()
        closing = asyncio.ensure_future(api.aclose())
        qtbot.waitUntil(closing.done, timeout=10000)
