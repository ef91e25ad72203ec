"""The report worker: builds reports from PostgreSQL and stores the artifacts."""
