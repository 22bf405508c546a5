"""Fixtures for the ShipStation connector tests: a fresh in-process sandbox and client per test."""

from __future__ import annotations

from shipstation_helpers import make_app, make_client

__all__ = ["make_app", "make_client"]
