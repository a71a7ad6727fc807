"""inventory_sync: one stock figure for the shop (Square) and the web shop (Shopify)."""
