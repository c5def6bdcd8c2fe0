"""The model zoo: the catalogue of unsupervised_study_v1, sources, downloads, the cache, import."""
