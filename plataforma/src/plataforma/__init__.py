"""The plataforma code location: what watches every location (see definitions.py)."""
