"""``vae-passive report``: analysis documents -> tidy tables (``tables``), figures (``figures``), and the
files on disk with report.md and index.html (``render``, the only module here that does I/O)."""
