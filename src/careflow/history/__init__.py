"""The one history reader and writer, and replay of histories through the step function."""
