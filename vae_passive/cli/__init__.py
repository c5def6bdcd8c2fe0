"""The ``vae-passive`` command line: one module per command group."""

from vae_passive.cli.commands import main

__all__ = ["main"]
