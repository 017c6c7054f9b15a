"""`make bench`: what the action costs, measured against the local emulator (see run.py)."""
