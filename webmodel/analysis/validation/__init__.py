"""Validation checks: the model set beside published results and public figures."""
