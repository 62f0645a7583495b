"""The disclosure ledger: what was sent, received or read about each person, and the volume
limits counted from it. Other features use only what is exported here."""
