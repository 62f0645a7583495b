"""How one person's name is written across scripts: Cyrillic, Armenian and Latin spellings
reduced to the small set of forms they share (`names.forms`).

Pure functions, no I/O. The console's person search and the register linkage both stand on it.
"""
