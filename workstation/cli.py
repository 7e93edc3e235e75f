"""The `workstation` command: desktop app, demo, team server and sandbox in one executable."""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys

from workstation import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workstation", description="Desktop agent workstation for social customer care.")
    p.add_argument("--version", action="version", version=f"workstation {__version__}")
    p.add_argument("--lang", choices=["en", "es"], help="interface language (default: the system's)")
    sub = p.add_subparsers(dest="command")

    demo = sub.add_parser("demo", help="start an embedded team server and the channel sandbox, and open the app")
    demo.add_argument("--lang", choices=["en", "es"], default=None)
    demo.add_argument("--interval", nargs=2, type=float, metavar=("MIN", "MAX"), default=(4.0, 9.0),
                      help="seconds between generated customer messages")
    demo.add_argument("--seed", type=int, default=None, help="seed for the traffic generator")
    demo.add_argument("--smoke", action="store_true",
                      help="close the window once a conversation has rendered and exit 0 (for tests and CI)")

    server = sub.add_parser("server", help="run the team server")
    server.add_argument("--db", default=None, help="database URL (default: sqlite file in the current folder)")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8400)
    server.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the port (more than one needs PostgreSQL)")
    server.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)
    server.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    server_sub = server.add_subparsers(dest="server_command")
    add = server_sub.add_parser("add-agent", help="create an agent; the password is read from stdin")
    add.add_argument("--db", dest="add_db", default=None)
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=["agent", "lead", "admin"], default="agent")
    revoke = server_sub.add_parser("revoke-sessions", help="sign an agent out everywhere (ends all their sessions)")
    revoke.add_argument("--db", dest="revoke_db", default=None)
    revoke.add_argument("--email", required=True)

    sandbox = sub.add_parser("sandbox", help="run the channel API emulators and the traffic generator")
    sandbox.add_argument("--server", required=True, help="team server URL that receives the webhooks")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8500)
    sandbox.add_argument("--no-traffic", action="store_true", help="only answer the API; generate no messages")
    sandbox.add_argument("--interval", nargs=2, type=float, metavar=("MIN", "MAX"), default=(4.0, 9.0))
    sandbox.add_argument("--seed", type=int, default=None)
    sandbox.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)
    sandbox.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)

    colleagues = sub.add_parser(
        "colleagues", help="simulate colleagues who answer customers through the agent API (the demo's team)",
        description="Simulated agents sign in, become available and answer the conversations the server hands "
                    "them. Their emails and passwords are read from WORKSTATION_COLLEAGUES (a JSON list of "
                    '{"email": ..., "password": ...}); timings from WORKSTATION_COLLEAGUES_* variables.')
    colleagues.add_argument("--server", required=True, help="team server URL")
    colleagues.add_argument("--seed", type=int, default=None)
    colleagues.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)

    spike = sub.add_parser(
        "sandbox-spike", help="have a running sandbox send a burst of angry messages about one topic (a crisis)",
        description="Many new customers write negative messages about TOPIC within SECONDS, through the "
                    "sandbox's signed webhooks, so the team server's crisis detection raises an alert.")
    spike.add_argument("--sandbox", required=True, help="the sandbox's URL (the demo logs it at start)")
    spike.add_argument("--topic", default="outage", help="outage, fraud, billing or a topic of your own")
    spike.add_argument("--count", type=int, default=40)
    spike.add_argument("--seconds", type=float, default=60.0)
    spike.add_argument("--language", choices=["es", "en", "mixed"], default="es")
    return p


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from workstation import logsetup

    logsetup.configure()
    if args.command == "server":
        from services.teamserver import cli as server_cli

        if args.server_command == "add-agent":
            return server_cli.add_agent(db=args.add_db or args.db, email=args.email, name=args.name,
                                        role=args.role, password=_read_password())
        if args.server_command == "revoke-sessions":
            return server_cli.revoke_sessions(db=args.revoke_db or args.db, email=args.email)
        return server_cli.run(db=args.db, host=args.host, port=args.port, fd=args.fd,
                              exit_with_parent=args.exit_with_parent, workers=args.workers)
    if args.command == "sandbox":
        from services.sandbox import cli as sandbox_cli

        return sandbox_cli.run(server=args.server, host=args.host, port=args.port, fd=args.fd,
                               traffic=not args.no_traffic, interval=tuple(args.interval), seed=args.seed,
                               exit_with_parent=args.exit_with_parent)
    if args.command == "colleagues":
        from services.sandbox import cli as sandbox_cli

        return sandbox_cli.run_colleagues(server=args.server, seed=args.seed, exit_with_parent=args.exit_with_parent)
    if args.command == "sandbox-spike":
        from services.sandbox import cli as sandbox_cli

        return sandbox_cli.run_spike(sandbox=args.sandbox, topic=args.topic, count=args.count,
                                     seconds=args.seconds, language=args.language)
    # The desktop lives in ui/, which this core package must not import statically (it is Qt).
    desktop = importlib.import_module("ui.app")
    if args.command == "demo":
        return desktop.run_demo(lang=args.lang, interval=tuple(args.interval), seed=args.seed, smoke=args.smoke)
    return desktop.run_desktop(lang=args.lang)
