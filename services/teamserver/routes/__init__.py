"""HTTP routes of the team server, one router per resource."""
