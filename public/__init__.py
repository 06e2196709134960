"""Public aggregate crime maps: published releases with differential privacy (no login)."""
