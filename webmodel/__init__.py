"""webmodel."""
