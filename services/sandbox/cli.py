"""Command-line entry point of the channel sandbox (`workstation sandbox ...`)."""

from __future__ import annotations

import logging
import os
import sys

from services import logctx
from services.serve import serve

log = logging.getLogger(__name__)


def run(*, server: str, host: str, port: int, fd: int | None, traffic: bool, interval: tuple[float, float],
        seed: int | None, exit_with_parent: bool) -> int:
    from services.sandbox.whatsapp_api import SandboxConfig, create_app

    env = os.environ
    missing = [k for k in ("WORKSTATION_META_APP_SECRET", "WORKSTATION_WHATSAPP_TOKEN") if not env.get(k)]
    if missing:
        print(f"workstation sandbox: set {' and '.join(missing)} (the same values the team server uses)",
              file=sys.stderr)
        return 2
    telegram_token = env.get("WORKSTATION_TELEGRAM_TOKEN", "")
    x_token = env.get("WORKSTATION_X_TOKEN", "")
    logctx.configure(secrets=(env["WORKSTATION_META_APP_SECRET"], env["WORKSTATION_WHATSAPP_TOKEN"],
                              env.get("WORKSTATION_META_VERIFY_TOKEN", ""), telegram_token, x_token,
                              env.get("WORKSTATION_MESSENGER_PAGE_TOKEN", ""),
                              env.get("WORKSTATION_INSTAGRAM_TOKEN", ""),
                              env.get("WORKSTATION_EMAIL_IMAP_PASSWORD", ""),
                              env.get("WORKSTATION_EMAIL_SMTP_PASSWORD", "")))
    config = SandboxConfig(
        app_secret=env["WORKSTATION_META_APP_SECRET"],
        access_token=env["WORKSTATION_WHATSAPP_TOKEN"],
        phone_number_id=env.get("WORKSTATION_WHATSAPP_PHONE_NUMBER_ID", "100200300400500"),
        webhook_url=server.rstrip("/") + "/webhooks/whatsapp",
        traffic=traffic,
        traffic_interval=interval,
        traffic_seed=seed,
    )
    app = create_app(config)
    if telegram_token:  # the Bot API emulator under /telegram, for the same bot token the server uses
        from services.sandbox import telegram_api

        telegram_api.mount(app, telegram_api.TelegramSandboxConfig(token=telegram_token))
    if x_token and env.get("WORKSTATION_X_USER_ID"):  # the X API v2 emulator under /x, as the server's brand account
        from services.sandbox import x_api

        x_api.mount(app, x_api.XSandboxConfig(token=x_token, user_id=env["WORKSTATION_X_USER_ID"]))
    _mount_meta(app, env, server)
    if not _mount_email(app, env):
        return 2
    serve(app, host=host, port=port, fd=fd, exit_with_parent=exit_with_parent)
    return 0


def _mount_meta(app, env, server: str) -> None:
    """The Messenger/Instagram emulator under /meta, for the page (and Instagram account) the server uses,
    posting webhooks to its /webhooks/meta; nothing when no page is configured."""
    page_id, page_token = env.get("WORKSTATION_MESSENGER_PAGE_ID", ""), env.get("WORKSTATION_MESSENGER_PAGE_TOKEN", "")
    if not page_id or not page_token:
        return
    from services.sandbox import meta_api

    meta_api.mount(app, meta_api.MetaSandboxConfig(
        app_secret=env["WORKSTATION_META_APP_SECRET"], page_id=page_id, page_token=page_token,
        instagram_id=env.get("WORKSTATION_INSTAGRAM_ACCOUNT_ID", ""),
        instagram_token=env.get("WORKSTATION_INSTAGRAM_TOKEN", ""),
        webhook_url=server.rstrip("/") + "/webhooks/meta"))


def _mount_email(app, env) -> bool:
    """The email provider emulator (IMAP and SMTP servers on loopback) when WORKSTATION_SANDBOX_EMAIL_IMAP_PORT and
    _SMTP_PORT are set (0: any free port): the support mailbox of WORKSTATION_EMAIL_ADDRESS, with the logins the team
    server uses (WORKSTATION_EMAIL_IMAP_USER/_PASSWORD, _SMTP_USER/_PASSWORD). False when misconfigured."""
    imap_port = env.get("WORKSTATION_SANDBOX_EMAIL_IMAP_PORT")
    smtp_port = env.get("WORKSTATION_SANDBOX_EMAIL_SMTP_PORT")
    if not imap_port and not smtp_port:
        return True
    try:
        ports = int(imap_port or ""), int(smtp_port or "")
    except ValueError:
        print("workstation sandbox: WORKSTATION_SANDBOX_EMAIL_IMAP_PORT and _SMTP_PORT must both be port numbers",
              file=sys.stderr)
        return False
    address, user = env.get("WORKSTATION_EMAIL_ADDRESS", ""), env.get("WORKSTATION_EMAIL_IMAP_USER", "")
    password = env.get("WORKSTATION_EMAIL_IMAP_PASSWORD", "")
    if "@" not in address or not user or not password:
        print("workstation sandbox: the email emulator needs WORKSTATION_EMAIL_ADDRESS, WORKSTATION_EMAIL_IMAP_USER "
              "and WORKSTATION_EMAIL_IMAP_PASSWORD (the same values the team server uses)", file=sys.stderr)
        return False
    from services.sandbox import mail_server

    smtp_password = env.get("WORKSTATION_EMAIL_SMTP_PASSWORD", "")
    mail_server.mount(app, mail_server.MailSandboxConfig(
        address=address, imap_user=user, imap_password=password,
        # As the team server's connector: the SMTP login defaults to the IMAP user when an SMTP password is set.
        smtp_user=(env.get("WORKSTATION_EMAIL_SMTP_USER") or user) if smtp_password else "",
        smtp_password=smtp_password, imap_port=ports[0], smtp_port=ports[1]))
    return True


def run_colleagues(*, server: str, seed: int | None, exit_with_parent: bool) -> int:
    """Simulated colleagues answering through the agent API (`workstation colleagues ...`). Their emails and
    passwords come in WORKSTATION_COLLEAGUES (never on the command line); timings in WORKSTATION_COLLEAGUES_*."""
    import asyncio
    import signal
    import threading

    from services.sandbox import colleagues

    try:
        credentials = colleagues.credentials_from_env(os.environ)
        config = colleagues.Config.from_env(os.environ)
    except ValueError as exc:
        print(f"workstation colleagues: {exc}", file=sys.stderr)
        return 2
    if not credentials:
        print(f"workstation colleagues: set {colleagues.CREDENTIALS_ENV} to a JSON list of "
              '{"email": ..., "password": ...}', file=sys.stderr)
        return 2
    os.environ.pop(colleagues.CREDENTIALS_ENV, None)  # nothing started from here needs them
    logctx.configure(secrets=[password for _, password in credentials])
    language = "en" if (os.environ.get("WORKSTATION_LANG") or os.environ.get("LANG") or "es").startswith("en") \
        else "es"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def request_stop() -> None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop has closed already
                pass

        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
                signal.signal(signum, lambda *_: request_stop())
        if exit_with_parent:
            threading.Thread(target=_wait_for_parent, args=(request_stop,), name="parent-watch", daemon=True).start()
        await colleagues.run(server, credentials, config, stop=stop, seed=seed, language=language)

    asyncio.run(main())
    return 0


def run_spike(*, sandbox: str, topic: str, count: int, seconds: float, language: str) -> int:
    """Asks a running sandbox for a crisis on demand (`workstation sandbox-spike`)."""
    import httpx

    from services.sandbox import spike

    try:
        answer = spike.request(sandbox, topic=topic, count=count, seconds=seconds, language=language)
    except httpx.HTTPStatusError as exc:
        print(f"workstation sandbox-spike: the sandbox refused: {exc.response.status_code} {exc.response.text[:300]}",
              file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"workstation sandbox-spike: cannot reach {sandbox}: {type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"sending {answer['count']} messages about {answer['topic']!r} from {answer['customers']} customers "
          f"over {answer['seconds']:g} s")
    return 0


def _wait_for_parent(callback) -> None:
    """The parent holds our stdin open; when it goes away (even killed), stdin ends and `callback` runs. Reads
    the raw descriptor: a thread blocked in a buffered read of sys.stdin aborts the interpreter's shutdown
    when we stop for another reason (SIGTERM)."""
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except (OSError, ValueError):
        pass
    log.info("parent went away; stopping")
    callback()
