"""Reliable, protected exchange between nodes: outbox, relay, receiver, inbox, receipts."""
