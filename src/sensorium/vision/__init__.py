"""vision capability."""
