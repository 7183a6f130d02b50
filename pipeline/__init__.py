"""newswatch pipeline: plain Python stages (fetch, feeds, extract, store); no Prefect here."""
