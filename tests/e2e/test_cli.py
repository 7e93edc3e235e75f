"""The `workstation` command line: version, creating agents from stdin, and a standalone team server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from workstation import __version__


def run_cli(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workstation", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"workstation {__version__}"


def test_add_agent_then_sign_in_on_a_standalone_server(tmp_path):
    db = f"sqlite:///{tmp_path / 'team.sqlite'}"
    created = run_cli("server", "add-agent", "--db", db, "--email", "Rosa@Example.com", "--name", "Rosa Díaz",
                      "--role", "lead", stdin="a long enough password\n")
    assert created.returncode == 0, created.stderr
    assert "rosa@example.com (lead)" in created.stdout
    assert "a long enough password" not in created.stdout + created.stderr

    again = run_cli("server", "add-agent", "--db", db, "--email", "rosa@example.com", "--name", "R",
                    stdin="another password\n")
    assert again.returncode == 1 and "exists already" in again.stderr
    short = run_cli("server", "add-agent", "--db", db, "--email", "x@example.com", "--name", "X", stdin="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "workstation", "server", "--db", db, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90  # a loaded 2-core machine starts it slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        r = httpx.post(f"{base}/v1/session", json={"email": "rosa@example.com", "password": "a long enough password"})
        assert r.status_code == 200 and r.json()["agent"]["name"] == "Rosa Díaz"
        # Without channel secrets configured the webhook refuses everything instead of trusting it.
        assert httpx.post(f"{base}/webhooks/whatsapp", content=b"{}").status_code == 503
        openapi = httpx.get(f"{base}/openapi.json").json()
        assert "/v1/sync" in openapi["paths"] and "/v1/conversations/{conversation_id}/messages" in openapi["paths"]
    finally:
        server.terminate()
        _, err = server.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status still says why it stopped.
    assert server.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err


def test_sandbox_refuses_to_start_without_secrets():
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSTATION_")}
    result = subprocess.run([sys.executable, "-m", "workstation", "sandbox", "--server", "http://127.0.0.1:1"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and "WORKSTATION_META_APP_SECRET" in result.stderr
