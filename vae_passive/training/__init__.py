"""Training models to the published spec, and the offline demo."""
