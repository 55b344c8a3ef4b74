"""Image classification modules (ImageNet classifiers and the catalog's dish/animal heads).

Importing this package imports nothing heavy: paddle is imported by the model files, which load
only when a module is used.
"""
