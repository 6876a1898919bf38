"""speech capability."""
