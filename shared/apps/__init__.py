"""Per-SaaS knowledge, one module per app (Pipedream's ``<app>.app.mjs`` idea)."""
