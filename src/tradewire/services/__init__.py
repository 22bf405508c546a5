"""Use cases shared by the API, the CLI and the dashboard (no HTTP types here)."""
