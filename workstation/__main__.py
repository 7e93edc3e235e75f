"""`python -m workstation` runs the same command line as the `workstation` script."""

from workstation.cli import main

raise SystemExit(main())
