"""The operator dashboard: a site's recent push requests and their timelines (server-rendered)."""
