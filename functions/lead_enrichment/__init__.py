"""lead_enrichment: see spec.py (the declaration) and README.md."""
