"""Generators of test and benchmark inputs (speech, sounds, settings), shared by tests/ and bench/.

Nothing here is downloaded: Piper's voice comes from PyPI, espeak-ng from Debian, the rest is numpy.
Not part of the `sensorium` package.
"""
