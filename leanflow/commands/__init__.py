"""The CLI layer's glue: each command checks its options and outputs, reads the files, calls the
experiment and report layers, and writes the results (``leanflow.cli`` only parses the command line)."""
