"""Files in and out: network import/export (GraphML, node-link JSON), series and provenance."""
