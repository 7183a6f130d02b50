"""newswatch pipeline: plain Python stages (fetch, feeds, extract, store) with no Prefect imports."""
