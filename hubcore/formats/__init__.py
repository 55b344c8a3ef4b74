"""Readers for weight files made by other frameworks, turned into plain numpy arrays without running their code."""
