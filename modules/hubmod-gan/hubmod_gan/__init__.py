"""GAN modules for the hub: stgan_celeba, stargan_celeba, attgan_celeba, cyclegan_cityscapes.

Nothing heavy is imported here; paddle is imported by the network files when a module is built.
"""
