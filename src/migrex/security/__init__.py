"""The security log: refusals at the node's doors (envelopes, requests, TLS handshakes, logins),
aggregated so a flood of identical refusals is one counted entry, and read by operators."""
