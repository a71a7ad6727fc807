"""new_lead_notify: see spec.py (the declaration) and README.md."""
