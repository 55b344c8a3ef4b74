"""Senta sentiment classification and EmoTect emotion detection modules for hubcore.

Imports nothing heavy: the modules live in hubmod_senta.module and load paddle when used.
"""
