"""Figures drawn from results (never by re-solving inside plotting code)."""
