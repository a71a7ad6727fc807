"""mcp: see spec.py (the declaration) and README.md."""
