"""``python -m vae_passive`` runs the CLI."""

from vae_passive.cli import main

main()
