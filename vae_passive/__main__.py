"""``python -m vae_passive`` runs the CLI."""

from vae_passive.cli import main

if __name__ == "__main__":
    main()
