"""The node's HTTP surface and processes: the partners' mutual-TLS door (`app`), the officers'
API (`officers_app`), each assembled from the feature list in `migrex.features`, and the
`migrex serve` and `migrex relay` commands that run them (`cli`)."""
