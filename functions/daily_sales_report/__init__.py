"""daily_sales_report: see spec.py (the declaration) and README.md."""
