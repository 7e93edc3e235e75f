"""Server side of Workstation: team server, channel connectors and the channel sandbox (no Qt)."""
