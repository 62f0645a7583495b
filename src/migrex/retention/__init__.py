"""Retention of personal data received from partners: each record sealed under its own key,
and the key destroyed when the agreement's retention period ends (crypto-shredding)."""
