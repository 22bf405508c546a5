"""The ``tradewire`` command line (Typer)."""
