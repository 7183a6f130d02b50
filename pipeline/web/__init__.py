"""``newswatch web``: the read-only HTTP API (``/api``) and the dashboard (``/``)."""
