"""What serves every code location of the stack (see pyproject.toml)."""
