"""The root group ``vae-passive``: its help and the one-line error for every failure."""

from __future__ import annotations

import sys

import click

from vae_passive import __version__, config
from vae_passive.errors import VaePassiveError


class _Cli(click.Group):
    """Turns every failure into a one-line ``Error: ...`` and exit code 1, never a traceback.

    ``VaePassiveError`` is the user's to fix; an ``OSError`` names its file and reason ("No space left
    on device"); a TensorFlow error (a damaged module, say) gives its class and first line. Anything
    else is a bug: one line says so and that ``VAE_PASSIVE_DEBUG=1`` shows the traceback, which that
    setting shows for every failure.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as error:
            if config.text(config.DEBUG) not in ("", "0"):
                raise
            raise click.ClickException(_one_line(error)) from None


def _one_line(error: Exception) -> str:
    """The message ``_Cli`` prints for ``error``."""
    from vae_passive.untrusted import is_tensorflow_error, reason

    if isinstance(error, VaePassiveError):
        return str(error)
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or reason(error)}"
    if isinstance(error, OSError):
        return f"{error.strerror or reason(error)}"
    if is_tensorflow_error(error):
        return f"TensorFlow failed: {type(error).__name__}: {reason(error)}"
    return (
        f"unexpected {type(error).__name__}: {reason(error)} (a bug in vae-passive; run with {config.DEBUG}=1 for the "
        "traceback)"
    )


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="vae-passive")
def main() -> None:
    """Active, passive and mixed latents of disentanglement_lib VAEs: mean vs sampled codes.

    \b
    Examples:
      vae-passive list --dataset dsprites_full --method beta_vae --seed 0
      vae-passive info
      vae-passive encode --model-dir ~/models/0 --images x.npy --out codes.npz
    """
