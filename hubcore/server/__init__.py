"""`hub serving`: an HTTP server for installed modules, with routes derived from their signatures.

Nothing heavy is imported here: the CLI imports `hubcore.server.cli`, uvicorn workers import
`hubcore.server.worker`. See README.md in this folder for the HTTP surface and its mappings.
(The package is not called `serving` so that it never shadows the `hubcore.serving` decorator.)
"""
