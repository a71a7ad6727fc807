"""website_to_crm: see spec.py (the declaration) and README.md."""
