"""The Python API: the analysis of codes computed with any VAE, in any framework (docs/api.md)."""
