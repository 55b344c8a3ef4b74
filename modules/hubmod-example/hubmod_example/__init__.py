"""hubmod-example: the smallest honest hub module (see module.py). Imports nothing heavy."""
