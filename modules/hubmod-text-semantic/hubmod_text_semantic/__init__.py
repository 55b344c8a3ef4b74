"""Semantic text models for hubcore. Nothing heavy is imported here."""
__all__: list[str] = []
