"""stock_level: see spec.py (the declaration) and README.md."""
