"""Order routes (filled in by the orders work)."""
