"""Privacy-preserving record linkage of two citizens' registers, across scripts.

Each party normalises its names into the forms they are written in (`migrex.spelling`), encodes its
register as keyed Bloom filters (`encoder`) and blocking tokens (`blocking`) under a key the
two parties share; the linkage unit, which never holds the key, compares the filters of the
pairs that share a token and matches them one to one (`compare`). `evaluation` runs the
whole path on two register files with a throwaway key.

A run between two authorities is casework (`runs`): one proposes it, the other accepts or
refuses it under the agreement's linkage section, and each then derives the run's key from its
own X25519 key and the partner's (`run_keys`, `keys.run_key`); no key ever travels.
"""
