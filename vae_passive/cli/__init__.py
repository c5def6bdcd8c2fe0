"""The ``vae-passive`` command line: one module per command group, registered on the root group here."""

from vae_passive.cli import analyze, data, mirror, models, report, score, train, zoo
from vae_passive.cli.root import main

main.add_command(models.list_models)
main.add_command(models.info)
main.add_command(models.encode)
main.add_command(analyze.analyze)
main.add_command(zoo.fetch)
main.add_command(zoo.import_models)
main.add_command(zoo.cache)
main.add_command(mirror.mirror)
main.add_command(train.train)
main.add_command(train.demo)
main.add_command(report.report)
main.add_command(data.data)
main.add_command(score.score)

__all__ = ["main"]
