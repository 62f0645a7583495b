"""Key rotation that keeps traffic flowing: a new key waits, pending, while a new version of
each agreement's directory listing it travels to the partners as a `directory-update`
message; each partner checks and countersigns it, installs it and sends its countersignature
back; only then does the proposer install it and activate the key.

Above the exchange (it sends and files messages) and the directory (it proposes, signs and
installs versions). `migrex directory ...` and `migrex pki rotate` are its commands; its clerk
(`jobs`) files the updates the casework clerk sets aside for it.
"""
