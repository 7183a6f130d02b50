"""The schema revision this code needs, known without loading Alembic.

Loading Alembic to read its script directory costs about 80 ms, a sixth of what a query
command may take in all; ``tests/test_migrations.py`` checks this equals Alembic's head.
"""

HEAD_REVISION = "0006"
