"""`python -m cfngen` runs the command line."""

from cfngen.cli import run

run()
