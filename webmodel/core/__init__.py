"""The model core: the Mesa model and agents, the array engine and its per-agent reference,
the recorder of weekly series, and the metrics computed from them."""
