"""Governance: the audit chain, and (issue 6) access control, rate limits and config versions."""
