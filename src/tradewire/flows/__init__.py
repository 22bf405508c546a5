"""Flows: named, versioned sequences of checkpointed steps that turn messages into effects."""
