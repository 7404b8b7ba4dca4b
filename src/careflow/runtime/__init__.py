"""Compiled processes and the pure step function; actors, data values, the audit chain, the registry."""
