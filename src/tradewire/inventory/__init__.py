"""The availability (ATP) engine: ledger positions → per-channel allocation → coalesced publication."""
