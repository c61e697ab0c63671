"""The ``teamdash`` command line: ``main`` parses, runs a registered command, and turns
user errors into one line on stderr with exit code 2."""
