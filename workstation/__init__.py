"""Workstation desktop core: local cache, sync engine, outbox, credentials, canned responses (no Qt)."""

__version__ = "0.1.0"
