"""Backups of a node and restoring them: `migrex backup` and `migrex restore`.

A backup holds the database (a consistent snapshot), the key folder (every key, the
retention and subject keys among them) and the node's configuration files, with a manifest,
encrypted to an operator's X25519 key. This feature stands above every other: it reads all
their tables. What happens to the audit log after a restore (a recovery declared to the
partners' witnesses) belongs to witnessing; a restore only marks the log as restored.
Nothing is imported here, so that importing the package costs nothing.
"""
