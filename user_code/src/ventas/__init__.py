"""The ventas (sales) code location."""
