"""vae-passive: active, passive and mixed latents of disentanglement_lib VAEs."""

__version__ = "0.1.0"
