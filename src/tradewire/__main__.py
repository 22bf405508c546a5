"""``python -m tradewire``."""

from __future__ import annotations

from tradewire.cli.main import app

if __name__ == "__main__":
    app()
