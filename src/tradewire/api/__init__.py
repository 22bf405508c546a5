"""The HTTP surface: REST API v1, webhook receivers, health and metrics."""
