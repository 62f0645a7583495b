"""Illegal-migration channels: organised schemes found in a node's registers.

A channel is a cluster, never a person: persons present who share inviting parties,
employers and addresses far more densely than chance, caught far more often than the
register's base rate, arriving in a burst. `pipeline.run` builds the person × entity graph
(`graph`), peels dense blocks (`peeling`), and scores and explains each (`scoring`).
"""
