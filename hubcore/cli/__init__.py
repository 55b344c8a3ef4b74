"""The `hub` command line; see main.py. Importing this package imports nothing heavy."""
