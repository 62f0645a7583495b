"""Password hashing with Argon2id (RFC 9106), the winner of the Password Hashing Competition.

Parameters are RFC 9106's second recommended option (§4, "low memory"): 3 passes over 64 MiB
with 4 lanes, a 16-byte salt and a 32-byte tag, about 0.15 s per hash on one core. The first
option (2 GiB) would let a burst of logins exhaust a node's memory. The parameters travel in
every stored hash, so raising them later only needs `needs_rehash` at the next login.

Every hash and verification passes `HASHING`, the process's one gate (`throttle.HashingGate`):
one Argon2 computation already uses four lanes, so a few at once fill the cores, and a burst
of parallel logins must queue rather than take 64 MiB each.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from migrex.errors import ProblemCollector
from migrex.officers.throttle import HashingGate

MIN_LENGTH = 12
# Argon2 hashes any length, but a megabyte "password" is an attack, not a secret.
MAX_LENGTH = 1024
MIN_DISTINCT = 5
MIN_USERNAME_IN_PASSWORD = 4

HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
HASHING = HashingGate()


def bound_hashing(limit: int) -> None:
    """Sets how many hashes this process computes at once (`login_hash_concurrency`)."""
    global HASHING  # noqa: PLW0603 - one gate per process is the point
    if HASHING.limit != limit:
        HASHING = HashingGate(limit)


def hash_password(password: str) -> str:
    with HASHING.slot():
        return HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches; False for a mismatch or an unreadable stored hash."""
    with HASHING.slot():
        try:
            return HASHER.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's and should be redone."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash of a password nobody knows, with today's parameters.

    Verifying against it when a username is unknown costs what a real check costs, so the
    answer time does not tell an attacker which usernames exist.
    """
    return hash_password(secrets.token_urlsafe(32))


def check_strength(password: str, username: str, problems: ProblemCollector) -> None:
    """Adds a problem for each way `password` is too weak (NIST SP 800-63B: length first)."""
    if len(password) < MIN_LENGTH:
        problems.add("password", f"use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.add("password", f"use at most {MAX_LENGTH} characters")
    if len(set(password)) < MIN_DISTINCT:
        problems.add("password", f"use at least {MIN_DISTINCT} different characters")
    # Short usernames turn up inside good passwords by chance; longer ones are a real hint.
    if len(username) >= MIN_USERNAME_IN_PASSWORD and username.lower() in password.lower():
        problems.add("password", "must not contain the username")
