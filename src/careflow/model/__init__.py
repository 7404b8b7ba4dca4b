"""Frozen process definitions: states, transitions, data types, durations, source marks. No I/O."""
