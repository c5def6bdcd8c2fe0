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

    #: The commands of the workflow, in its order; the root help lists them first, then the others.
    WORKFLOW = ("demo", "fetch", "import", "train", "analyze", "report")

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The workflow's commands in their order, then the others alphabetically."""
        names = super().list_commands(ctx)
        return [n for n in self.WORKFLOW if n in names] + [n for n in names if n not in self.WORKFLOW]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Two sections: the workflow's commands, then the reference."""
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in commands if cmd is not None and not cmd.hidden]
        limit = formatter.width - 6 - max((len(name) for name, _ in shown), default=0)
        for title, inside in (("Workflow", True), ("Reference", False)):
            rows = [(name, cmd.get_short_help_str(limit)) for name, cmd in shown if (name in self.WORKFLOW) == inside]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

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
    """The message ``_Cli`` prints for ``error``, without control characters: messages quote documents' and remote
    hosts' strings, which must not move the cursor or recolour the terminal (``untrusted.printable``)."""
    from vae_passive.untrusted import printable

    return printable(_message(error))


def _message(error: Exception) -> str:
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
    The workflow:
      1. vae-passive demo                          everything below on 2 small models, offline
      2. get models, one of:
         vae-passive fetch --ids 0-9 --mirror URL  download zoo models into the cache
         vae-passive import ~/Downloads/0.zip      add zips or folders you already have
         vae-passive train --model-id 0            train one to its spec
      3. vae-passive analyze --ids 0-9             classify latents, score mean vs sampled codes
      4. vae-passive report --out report/          tables, figures, report.md, index.html

    \b
    The commands that select zoo models (list, fetch, cache, analyze, report) share the same
    filters: --ids, --dataset, --method, --hyperparameter-index, --value, --seed, --study.
    Every command that prints results takes --json (one JSON value on stdout, messages on
    stderr); every command with a progress bar takes -q/--quiet.

    \b
    Examples:
      vae-passive list --study be-more-active --dataset dsprites_full --method beta_vae --seed 0
      vae-passive analyze --model-dir ./my_model --data procedural_dsprites --json
      vae-passive info
    """
