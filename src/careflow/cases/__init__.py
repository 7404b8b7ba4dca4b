"""The mutable case holder (the facade that raises) and the durable stores."""
