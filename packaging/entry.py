"""PyInstaller entry point: the same command line as the `workstation` console script.

The frozen executable also runs the demo's children (`workstation server ...`, `workstation sandbox ...`),
see `workstation.demo.self_command()`.
"""

import sys

from workstation.cli import main

if __name__ == "__main__":
    sys.exit(main())
