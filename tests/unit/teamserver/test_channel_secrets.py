"""Channel credentials at rest (secretbox) and the setup rules (channel_setup): sealing, binding, the key file,
which settings are accepted, and what the admin is told to fix."""

from __future__ import annotations

import base64
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from services.teamserver import channel_setup as setup
from services.teamserver.secretbox import KeyError_, SecretBox, Unreadable, load_key

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_sealed_secrets_open_only_with_the_key_and_on_their_channel():
    box = SecretBox(os.urandom(32))
    blob = box.seal(b'{"bot_token": "123:AAsecret"}', bound_to="telegram")
    assert "AAsecret" not in blob and blob.startswith("v1:")
    assert box.open(blob, bound_to="telegram") == b'{"bot_token": "123:AAsecret"}'
    with pytest.raises(Unreadable):
        box.open(blob, bound_to="x")  # copied onto another channel's row
    with pytest.raises(Unreadable):
        SecretBox(os.urandom(32)).open(blob, bound_to="telegram")  # another server's key
    tampered = blob[:-4] + ("AAAA" if not blob.endswith("AAAA") else "BBBB")
    with pytest.raises(Unreadable):
        box.open(tampered, bound_to="telegram")
    # Two seals of the same secret differ (fresh nonce): equal tokens are not visible as equal blobs.
    assert box.seal(b"same", bound_to="x") != box.seal(b"same", bound_to="x")


def test_the_key_file_is_made_once_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "channel.key"
    env = {"WORKSTATION_CHANNEL_KEY_FILE": str(path)}
    key = load_key(env)
    assert len(key) == 32 and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(env) == key


def test_a_key_from_the_environment_wins_and_bad_keys_are_named(tmp_path):
    key = os.urandom(32)
    env = {"WORKSTATION_CHANNEL_KEY": base64.urlsafe_b64encode(key).decode(),
           "WORKSTATION_CHANNEL_KEY_FILE": str(tmp_path / "unused.key")}
    assert load_key(env) == key and not (tmp_path / "unused.key").exists()
    with pytest.raises(KeyError_, match="WORKSTATION_CHANNEL_KEY must hold 32 bytes"):
        load_key({"WORKSTATION_CHANNEL_KEY": base64.urlsafe_b64encode(b"short").decode()})
    bad = tmp_path / "bad.key"
    bad.write_text("not base64 at all!!\n")
    with pytest.raises(KeyError_) as caught:
        load_key({"WORKSTATION_CHANNEL_KEY_FILE": str(bad)})
    assert str(bad) in str(caught.value)


def test_settings_are_checked_and_a_left_out_secret_keeps_the_stored_one():
    plain, secrets = setup.clean_settings("telegram", {"api_base": "http://127.0.0.1:9/telegram"}, {},
                                          {"bot_token": "123:AAkept"})
    assert plain == {"api_base": "http://127.0.0.1:9/telegram"} and secrets == {"bot_token": "123:AAkept"}
    with pytest.raises(setup.SetupError, match="bot_token is required") as caught:
        setup.clean_settings("telegram", {}, {}, {})
    assert caught.value.field == "bot_token"
    with pytest.raises(setup.SetupError, match="no settings field 'bot_token'"):
        setup.clean_settings("telegram", {"bot_token": "123:AAplain"}, {}, {})  # a secret sent as plain
    with pytest.raises(setup.SetupError, match="no secrets field 'page_id'"):
        setup.clean_settings("messenger", {}, {"page_id": "1"}, {})
    with pytest.raises(setup.SetupError, match="port number"):
        setup.clean_settings("email", {"address": "a@b.test", "imap_host": "h", "imap_user": "u",
                                       "smtp_host": "h", "imap_port": "99999"}, {"imap_password": "p"}, {})
    with pytest.raises(setup.SetupError, match="smtp_tls must be one of"):
        setup.clean_settings("email", {"address": "a@b.test", "imap_host": "h", "imap_user": "u",
                                       "smtp_host": "h", "smtp_tls": "maybe"}, {"imap_password": "p"}, {})
    with pytest.raises(setup.SetupError, match="one line"):
        setup.clean_settings("x", {"user_id": "1\n2"}, {"access_token": "t"}, {})
    with pytest.raises(setup.SetupError, match="http"):
        setup.clean_settings("x", {"user_id": "1", "api_base": "file:///etc"}, {"access_token": "t"}, {})
    with pytest.raises(setup.SetupError, match="unknown channel"):
        setup.clean_settings("fax", {}, {}, {})


def test_stored_settings_become_the_variables_the_connector_reads():
    env = setup.channel_env("messenger", {"page_id": "111", "api_base": "http://h/meta"},
                            {"access_token": "EAAtoken", "app_secret": "s3", "verify_token": "v"})
    assert env == {"WORKSTATION_MESSENGER_PAGE_ID": "111", "WORKSTATION_META_GRAPH_BASE": "http://h/meta",
                   "WORKSTATION_MESSENGER_PAGE_TOKEN": "EAAtoken", "WORKSTATION_META_APP_SECRET": "s3",
                   "WORKSTATION_META_VERIFY_TOKEN": "v"}


def problems(channel="whatsapp", **kw):
    base = dict(connected=True, unreadable=False, health={}, token_expires_at=None, connected_at=NOW, now=NOW)
    return setup.problems(channel, **{**base, **kw})


def test_what_the_admin_is_told_to_fix():
    assert problems(connected=False) == ["not_connected"]
    assert problems(unreadable=True, connected=False) == ["credentials_unreadable"]
    # A webhook channel that never got a webhook: the callback URL is not set up yet.
    assert problems() == ["webhook_waiting"]
    hooked = {"last_ok_at": NOW.isoformat(), "last_webhook_at": NOW.isoformat()}
    assert problems(health=hooked) == []
    assert problems(health=hooked, token_expires_at=NOW + timedelta(days=3)) == ["token_expires_soon"]
    assert problems(health=hooked, token_expires_at=NOW + timedelta(days=30)) == []
    assert problems(health=hooked, token_expires_at=NOW - timedelta(minutes=1)) == ["token_expired"]
    refused = {**hooked, "last_error_at": (NOW + timedelta(seconds=1)).isoformat(), "last_error_kind": "auth_expired"}
    assert problems(health=refused) == ["auth_refused"]
    # An error followed by a success is over.
    recovered = {**refused, "last_ok_at": (NOW + timedelta(seconds=2)).isoformat()}
    assert problems(health=recovered) == []
    failing = {**refused, "last_error_kind": "retryable"}
    assert problems(health=failing) == ["provider_failing"]
    assert problems(health={**refused, "last_error_kind": "permission"}) == ["permission_missing"]


def test_a_polled_channel_that_stopped_polling_is_flagged():
    fresh = {"last_ok_at": (NOW - timedelta(minutes=1)).isoformat()}
    stale = {"last_ok_at": (NOW - timedelta(minutes=11)).isoformat()}
    assert problems("telegram", health=fresh) == []
    assert problems("telegram", health=stale) == ["poll_stale"]
    # Never polled since it was connected 11 minutes ago.
    assert problems("telegram", health={}, connected_at=NOW - timedelta(minutes=11)) == ["poll_stale"]
