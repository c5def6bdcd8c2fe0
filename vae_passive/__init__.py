"""vae-passive: active, passive and mixed latents of VAEs, mean vs sampled representations.

The Python API (docs/api.md) is loaded on first use, so ``import vae_passive`` imports nothing
heavy (no TensorFlow, pandas, matplotlib or scikit-learn):

    import vae_passive
    analysis = vae_passive.analyze_codes(mean, logvar)   # arrays (N x latents) from any VAE
    monitor = vae_passive.TrainingMonitor("runs/my_vae")  # the same, step by step, inside a training loop
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_API = {
    "analyze_codes": "vae_passive.api.codes",
    "Analysis": "vae_passive.api.codes",
    "classify": "vae_passive.api.codes",
    "scores": "vae_passive.api.codes",
    "read_codes": "vae_passive.analysis.codes",
    "TrainingMonitor": "vae_passive.analysis.monitor",
    "VaePassiveError": "vae_passive.errors",
}
__all__ = [
    "Analysis",
    "TrainingMonitor",
    "VaePassiveError",
    "__version__",
    "analyze_codes",
    "classify",
    "read_codes",
    "scores",
]

if TYPE_CHECKING:
    from vae_passive.analysis.codes import read_codes
    from vae_passive.analysis.monitor import TrainingMonitor
    from vae_passive.api.codes import Analysis, analyze_codes, classify, scores
    from vae_passive.errors import VaePassiveError


def __getattr__(name: str) -> Any:
    """Import the API's modules when one of their names is first used (PEP 562)."""
    if name not in _API:
        raise AttributeError(f"module 'vae_passive' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
