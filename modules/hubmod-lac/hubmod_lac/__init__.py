"""Baidu LAC (lexical analysis of Chinese) as a hubcore module: `hub.Module(name="lac")`.

Nothing heavy is imported here; paddle is imported when a predictor is first created.
"""
__all__: list[str] = []
