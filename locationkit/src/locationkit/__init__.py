"""What every code location shares (see pyproject.toml)."""
