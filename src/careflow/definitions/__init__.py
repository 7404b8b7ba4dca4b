"""Reading process files: safe YAML, the JSON Schema, building the model, extends, guards, checks."""
