"""The latent analysis on arrays (pure numpy): representations, active/passive/mixed, scores."""
