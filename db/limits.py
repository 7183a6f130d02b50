"""Column sizes shared by the schema and the code that must fit values into it.

A module of plain constants, so that code outside the storage layer (URL normalization, which
also runs in extraction worker processes) can use them without importing SQLAlchemy.
"""

URL_MAX = 2048
LANG_MAX = 16
ETAG_MAX = 500
LAST_MODIFIED_MAX = 100
