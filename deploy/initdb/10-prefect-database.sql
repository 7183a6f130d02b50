-- Run once by the postgres image, when its data volume is empty: the Prefect server's own
-- database, beside the newswatch one (POSTGRES_DB). Prefect creates its tables at start.
CREATE DATABASE prefect;
