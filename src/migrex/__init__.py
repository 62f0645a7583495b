"""migrex: a node for intergovernmental migration-cooperation agreements."""
