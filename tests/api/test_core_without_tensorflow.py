"""The core works with TensorFlow blocked from import: the API, ``analyze --codes``, ``score``, ``report``, ``list``;
a command that needs a module stops with one line naming the ``tf`` extra."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    sys.modules["tensorflow"] = None  # `import tensorflow` now raises ImportError, as when it is not installed
    sys.modules["tensorboard"] = None
    import numpy as np
    import vae_passive
    from click.testing import CliRunner

    work = Path(sys.argv[1])
    rng = np.random.default_rng(0)
    mean, logvar = rng.normal(size=(300, 4)), np.zeros((300, 4))
    logvar[:, :2] = -8.0
    mean[:, 2:] *= 0.01
    factors = rng.integers(0, 3, size=(300, 2))
    analysis = vae_passive.analyze_codes(mean, logvar, factors=factors, key="api")
    assert analysis.counts == {"active": 2, "mixed": 0, "passive": 2}, analysis.counts
    analysis.save(work / "results")
    np.savez(work / "cli.npz", mean=mean, logvar=logvar, factors=factors)

    from vae_passive.cli import main

    def run(*args):
        result = CliRunner().invoke(main, [str(a) for a in args])
        return result.exit_code, result.output

    outcomes = {
        "analyze": run("analyze", "--codes", work / "cli.npz", "--results", work / "results", "--save-codes"),
        "score": run("score", "--codes", work / "results" / "cli" / "codes.npz", "--metrics", "mig"),
        "report": run("report", "--results", work / "results", "--out", work / "report", "--model-id", "api"),
        "list": run("list", "--ids", "0-2"),
        "encode": run("encode", "--model-dir", work / "module", "--images", work / "x.npy", "--out", work / "o.npz"),
    }
    print(json.dumps({"outcomes": outcomes, "tensorflow_loaded": sys.modules.get("tensorflow") is not None}))
    """
)


def test_the_core_runs_without_tensorflow(tmp_path):
    import numpy as np

    np.save(tmp_path / "x.npy", np.zeros((2, 64, 64, 1), np.float32))
    (tmp_path / "module").mkdir()
    (tmp_path / "module" / "saved_model.pb").write_bytes(b"")  # reading a module's graph needs TensorFlow
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    facts = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    outcomes = facts["outcomes"]
    for command in ("analyze", "score", "report", "list"):
        assert outcomes[command][0] == 0, (command, outcomes[command][1][-2000:])
    assert "discrete_mig" in outcomes["score"][1]
    assert (tmp_path / "report" / "report.md").is_file()
    code, output = outcomes["encode"]
    assert code == 1 and output.strip().count("\n") == 0
    assert 'pip install "vae-passive[tf]"' in output
    assert not facts["tensorflow_loaded"]
