"""pos_to_accounting: see spec.py (the declaration) and README.md."""
