"""The `careflow` command: parse arguments, call the library, format results."""
