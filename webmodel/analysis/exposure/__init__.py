"""Vulnerability review: each state's foreign dependencies (dependency.py) and the coalition's
single points of failure (stress.py). See docs/exposure.md."""
