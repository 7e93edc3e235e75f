"""The team server: ingest, threading, identities, change feed, live events and the agent API."""
