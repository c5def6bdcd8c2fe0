"""``vae-passive report``: analysis documents -> tidy tables (``read``, ``tables``), headline text
(``findings``, ``provenance``), figures (``figures``) and the pages (``pages``). ``render`` runs it
all; only ``read`` (the results folder), ``render`` and ``files`` (the report folder) do I/O."""
