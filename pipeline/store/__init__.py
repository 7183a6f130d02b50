"""Storage: the only package of newswatch that runs SQL. ORM rows never leave it.

- ``database``: open the database, check it is reachable and at the right schema revision;
- ``sources``: source rows and their feed state (validators, health);
- ``entries``: entry URLs, which ones to fetch, and their outcome;
- ``runs``: run rows and per-item failures;
- ``export``: articles as export records.
"""
