"""booking_to_calendar: see spec.py (the declaration) and README.md."""
