"""sound capability."""
