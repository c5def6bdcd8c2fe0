"""Disentanglement metrics of disentanglement_lib (and the unsupervised scores), reference-compatible.

Each family module has a pure ``compute_*`` over codes (N, latents) and factors (N, factors) and
an ``evaluate`` that draws its inputs in upstream's order; ``registry`` names them all.
"""
