"""Desktop start-up: QApplication on a qasync loop, sign-in, the main window; and the demo."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import signal
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ui import crash, i18n
from ui.login_dialog import LoginDialog
from ui.main_window import MainWindow
from ui.notifier import Notifier
from ui.style import app_icon
from ui.theme import apply_theme
from workstation import protocol
from workstation.api import ApiClient
from workstation.credentials import CredentialStore, account_key
from workstation.errors import AuthError, NetworkError, RateLimitedError, ServerError
from workstation.preferences import Preferences
from workstation.settings import Settings
from workstation.sync import SIGNED_OUT
from workstation.workspace import Workspace

log = logging.getLogger(__name__)


def make_app(lang: str | None, settings: Settings | None = None) -> tuple[QApplication, str]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Workstation")
    app.setOrganizationName("Workstation")
    app.setDesktopFileName("workstation")  # matches the .desktop entry (Wayland app id, taskbar grouping)
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the async main decides when to stop, after cleanup
    settings = settings or Settings()
    chosen = settings.get("language")
    language = i18n.pick_language(lang or (None if chosen == "system" else chosen))
    i18n.install(app, language)
    apply_theme(app, settings.get("theme"))
    crash.install()
    return app, language


class Host:
    """Owns one signed-in workspace and its window; rebuilds the window when the language changes."""

    def __init__(self, api: ApiClient, agent: protocol.AgentPublic, *, language: str,
                 cache_path: Path | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.language = language
        self.window: MainWindow | None = None
        self.closed = asyncio.Event()
        # Set when the server refuses the session (expired, revoked): the desktop goes back to sign-in.
        self.session_ended = asyncio.Event()
        self.workspace = Workspace(
            api, agent, cache_path=cache_path,
            on_change=lambda cs: self.window and self.window.on_workspace_changed(cs),
            on_state=self._on_state,
            on_progress=lambda done, total: self.window and self.window.on_workspace_progress(done, total),
            on_presence=lambda conversation_id: self.window and self.window.on_presence(conversation_id),
            on_agent_status=lambda agent, error: self.window and self.window.on_agent_status(agent, error),
        )
        self.notifier = Notifier(self.settings, agent.id, app_icon())
        self.settings.subscribe("language", self.on_language_changed)
        self.settings.subscribe("theme", lambda theme: apply_theme(QApplication.instance(), theme))
        self.window = self._build()
        self.workspace.start()
        # Everything made so far lives as long as the app: move it out of the collector's sight, so a
        # full collection during a sync costs milliseconds instead of a 50-90 ms freeze of the UI.
        gc.freeze()

    def _on_state(self, state: str, queued: int) -> None:
        if state == SIGNED_OUT:
            self.session_ended.set()
        if self.window:
            self.window.on_workspace_state(state, queued)

    def _build(self) -> MainWindow:
        window = MainWindow(self.workspace, language=self.language, settings=self.settings, notifier=self.notifier)
        window.closed.connect(lambda: self._on_window_closed(window))
        window.start()
        return window

    def _on_window_closed(self, window: MainWindow) -> None:
        if window is self.window:
            # Once closed, the window hears nothing more from the core (its widgets are about to go).
            self.window = None
            self.closed.set()

    def on_language_changed(self, value: str) -> None:
        # After the settings dialog has closed: it belongs to the window being replaced.
        QTimer.singleShot(0, lambda: self.rebuild(i18n.pick_language(None if value == "system" else value)))

    def rebuild(self, language: str) -> None:
        """Switches the interface language live: a new window in the new language takes the old one's
        place, with the same state (selection, drafts, geometry, search)."""
        old = self.window
        if old is None or language == self.language:
            return
        i18n.install(QApplication.instance(), language)
        self.language = language
        old.save_window_state()
        self.window = self._build()
        self.window.show()
        old.close()  # its closeEvent disconnects it from the notifier, the settings and the event filter


def open_window(api: ApiClient, agent: protocol.AgentPublic, *, language: str,
                cache_path: Path | None = None, settings: Settings | None = None) -> tuple[MainWindow, Workspace]:
    """Builds the workspace and its window, wires core callbacks to the window, and starts syncing."""
    host = Host(api, agent, language=language, cache_path=cache_path, settings=settings)
    host.window._host = host  # keep the host alive as long as the window
    return host.window, host.workspace


class _QuitRequest:
    """Set by SIGTERM/SIGINT; the running main closes its window (now, or as soon as it has one)."""

    event: asyncio.Event | None = None
    requested = False

    @classmethod
    def set(cls, *_args) -> None:
        log.info("signal received; closing the window")
        cls.requested = True
        if cls.event is not None:
            cls.event.set()


def _install_signal_handlers() -> QTimer:
    signal.signal(signal.SIGTERM, _QuitRequest.set)
    signal.signal(signal.SIGINT, _QuitRequest.set)
    # Python runs signal handlers only between bytecodes; a ticking timer gives it the chance.
    timer = QTimer()
    timer.start(200)
    timer.timeout.connect(lambda: None)
    return timer


def _run(app: QApplication, coro) -> int:
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    app._signal_timer = _install_signal_handlers()
    _QuitRequest.event = asyncio.Event()
    if _QuitRequest.requested:
        _QuitRequest.event.set()
    try:
        with loop:
            return loop.run_until_complete(coro)
    finally:
        asyncio.set_event_loop(None)


async def _until_closed(host: Host, *, until_session_ends: bool = False) -> bool:
    """Shows the window and waits for it to close (or for a quit signal); with `until_session_ends`,
    also for the server to refuse the session. Returns True when it was the session that ended."""
    host.window.show()
    quit_wait = asyncio.ensure_future(_QuitRequest.event.wait()) if _QuitRequest.event else None
    closed_wait = asyncio.ensure_future(host.closed.wait())
    ended_wait = asyncio.ensure_future(host.session_ended.wait()) if until_session_ends else None
    waits = [t for t in (quit_wait, closed_wait, ended_wait) if t]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    ended = host.session_ended.is_set() and not host.closed.is_set() and not _QuitRequest.requested
    if host.window is not None:
        host.window.close()
    for task in waits:
        task.cancel()
    if not host.session_ended.is_set():
        # Offline on the server and "left" for the open conversation: at most a second, best effort.
        await host.workspace.sign_off(timeout=1.0)
    await host.workspace.stop()
    return ended and until_session_ends


# -- the demo -----------------------------------------------------------------------------------------
def run_demo(*, lang: str | None, interval: tuple[float, float], seed: int | None, smoke: bool) -> int:
    from workstation.demo import DemoError, start_demo_stack

    app, language = make_app(lang)
    try:
        stack = start_demo_stack(interval=interval, seed=seed)
    except DemoError as exc:
        log.error("the demo could not start: %s", exc)
        return 1
    log.info("demo children: %s", " ".join(str(p) for p in stack.pids))
    try:
        return _run(app, _demo_main(stack, language, smoke))
    finally:
        stack.stop()


async def _demo_main(stack, language: str, smoke: bool) -> int:
    api = ApiClient(stack.server_url)
    session = await api.sign_in(stack.lead_email, stack.lead_password)
    log.info("demo signed in as %s (%s)", session.agent.name, session.agent.role)
    host = Host(api, session.agent, language=language, cache_path=stack.data_dir / "cache.sqlite")
    window = host.window
    window.statusBar().showMessage(QCoreApplication.translate("MainWindow", "Demo: messages arrive from the WhatsApp sandbox every few seconds."), 15000)
    result = {"code": 0}
    if smoke:
        def on_thread_loaded(conversation_id: int, rows: int) -> None:
            if rows > 0 and not result.get("done"):
                result["done"] = True
                log.info("smoke: conversation %s rendered with %s messages; %s in the feed",
                         conversation_id, rows, window.feed_model.rowCount())
                QTimer.singleShot(300, window.close)

        def on_timeout() -> None:
            if not result.get("done"):
                log.error("smoke: no conversation rendered in time")
                result["code"] = 1
                window.close()

        window.thread_loaded.connect(on_thread_loaded)
        QTimer.singleShot(60000, on_timeout)
    await _until_closed(host)
    return result["code"]


# -- the desktop --------------------------------------------------------------------------------------
def run_desktop(*, lang: str | None) -> int:
    app, language = make_app(lang)
    return _run(app, _desktop_main(language))


def session_expired_text() -> str:
    return QCoreApplication.translate("LoginDialog", "Your session has expired. Sign in again.")


def too_many_attempts_text(retry_after: float | None) -> str:
    minutes = max(1, math.ceil((retry_after or 60) / 60))
    if minutes == 1:
        return QCoreApplication.translate("LoginDialog", "Too many sign-in attempts. Try again in a minute.")
    return QCoreApplication.translate("LoginDialog", "Too many sign-in attempts. Try again in %1 minutes.").replace("%1", str(minutes))


class _Expired:
    """What _resume_session returns when the stored token was refused: sign in again, and say why."""


async def _resume_session(prefs: Preferences, creds: CredentialStore) -> tuple[ApiClient, protocol.AgentPublic] | _Expired | None:
    if not (prefs.server_url and prefs.email):
        return None
    # Keyring calls may wait on D-Bus: off the Qt thread, like every other blocking call.
    token = await asyncio.to_thread(creds.load, account_key(prefs.server_url, prefs.email))
    if not token:
        return None
    api = ApiClient(prefs.server_url, token)
    try:
        return api, await api.me()
    except AuthError:
        await asyncio.to_thread(creds.delete, account_key(prefs.server_url, prefs.email))
        await api.aclose()
        return _Expired()
    except (NetworkError, ServerError):
        if prefs.agent:
            # Offline-first: open the cache now, sync once the server answers.
            return api, protocol.AgentPublic.model_validate(prefs.agent)
    await api.aclose()
    return None


async def _sign_in(prefs: Preferences, creds: CredentialStore,
                   notice: str | None = None) -> tuple[ApiClient, protocol.AgentPublic] | None:
    """The sign-in dialog until it signs in (or is cancelled); `notice` says why it is shown."""
    # The address set in the settings wins; else the last server signed in to.
    dialog = LoginDialog(Settings().get("server_url") or prefs.server_url, prefs.email)
    if notice:
        dialog.show_error(notice)
    done: asyncio.Future = asyncio.get_running_loop().create_future()
    pending: set[asyncio.Task] = set()

    async def attempt(server: str, email: str, password: str) -> None:
        api = ApiClient(server)
        try:
            session = await api.sign_in(email, password)
        except AuthError:
            dialog.show_error(QCoreApplication.translate("LoginDialog", "Wrong email or password."))
        except NetworkError:
            dialog.show_error(QCoreApplication.translate("LoginDialog", "Cannot reach the server at %1.").replace("%1", server))
        except RateLimitedError as exc:
            dialog.show_error(too_many_attempts_text(exc.retry_after))
        except ServerError as exc:
            dialog.show_error(QCoreApplication.translate("LoginDialog", "The server refused the sign-in (%1).").replace("%1", str(exc.status_code)))
        else:
            await asyncio.to_thread(creds.save, account_key(server, email), session.token)
            prefs.server_url, prefs.email, prefs.agent = server, email, session.agent.model_dump()
            prefs.save()
            if not done.done():
                done.set_result((api, session.agent))
            dialog.accept()
            return
        await api.aclose()

    def on_requested(server: str, email: str, password: str) -> None:
        task = asyncio.ensure_future(attempt(server, email, password))
        pending.add(task)
        task.add_done_callback(pending.discard)

    dialog.sign_in_requested.connect(on_requested)
    dialog.rejected.connect(lambda: done.done() or done.set_result(None))
    dialog.open()
    return await done


async def _desktop_main(language: str) -> int:
    prefs = Preferences.load()
    creds = CredentialStore()
    signed_in = await _resume_session(prefs, creds)
    notice = session_expired_text() if isinstance(signed_in, _Expired) else None
    warned = False
    while True:
        if not isinstance(signed_in, tuple):
            signed_in = await _sign_in(prefs, creds, notice)
        if signed_in is None:
            return 0
        api, agent = signed_in
        host = Host(api, agent, language=language)
        if not creds.persistent and not warned:
            warned = True
            _keyring_notice(creds, host.window)
        if not await _until_closed(host, until_session_ends=True):
            return 0
        # The server refused the session (expired, or revoked by an admin): forget it, sign in again.
        # Queued writes stay in the cache and are sent once the same agent is signed in again.
        log.info("the session ended; back to sign-in")
        await asyncio.to_thread(creds.delete, account_key(prefs.server_url, prefs.email))
        signed_in, notice = None, session_expired_text()


def _keyring_notice(creds: CredentialStore, window: MainWindow) -> None:
    # Non-modal: a nested modal loop would stall the asyncio tasks that keep the cache in sync.
    notice = QMessageBox(
        QMessageBox.Icon.Information, QCoreApplication.translate("MainWindow", "No system keyring"),
        QCoreApplication.translate("MainWindow", "No working system keyring was found (%1). Your session is kept only until you close Workstation; you will sign in again next time.").replace("%1", creds.unavailable_reason or ""),
        QMessageBox.StandardButton.Ok, window,
    )
    notice.open()
