"""Human segmentation modules for the hub: ace2p (human parsing, 20 LIP classes) and
deeplabv3p_xception65_humanseg (portrait alpha matte).

Nothing heavy is imported here; paddle is imported by the network files when a module is built.
"""
