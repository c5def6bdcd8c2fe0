"""The CLI's progress bars: drawn from the domain's callbacks, silent when disabled."""

from vae_passive.cli.progress import ByteBar, StepBar, model_bars, on_terminal


def test_step_bar_draws_counts_and_label(capsys):
    with StepBar("analyze", "model", enabled=True) as bar:
        bar(0, 2, "")
        bar(1, 2, "failed=0")
        bar(2, 2, "failed=1")
    err = capsys.readouterr().err
    assert "analyze" in err and "2/2" in err and "failed=1" in err


def test_step_bar_starts_where_a_resumed_run_stands(capsys):
    with StepBar("model 0 beta_vae", "step", enabled=True) as bar:
        bar(40, 100, "")
        assert bar.bar.n == 40
        bar(41, 100, "loss=1.00")
        assert bar.bar.n == 41


def test_disabled_bars_are_silent(capsys):
    with StepBar("metrics", "step", enabled=False) as bar:
        bar(0, 3, "mean/full/mig")
        bar(3, 3, "done")
    with model_bars(3, quiet=True, with_bytes=True) as bars:
        bars.add_bytes(100)
    byte_bar = ByteBar(enabled=False)
    byte_bar.add_bytes(10)
    byte_bar.close()
    assert capsys.readouterr().err == ""
    assert not on_terminal(quiet=True)
