"""HTTP routes: Score's REST API, health, and the local store's data plane."""
