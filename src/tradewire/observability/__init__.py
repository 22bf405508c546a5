"""Logs, metrics and the other ways Tradewire tells operators what it is doing."""
