#!/usr/bin/env python
"""Same as `hub import-paddlehub`: turn a PaddleHub module folder into our safetensors weights."""
import sys

from hubcore.paddlehub_import import main

if __name__ == "__main__":
    sys.exit(main())
