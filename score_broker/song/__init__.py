"""An embedded Song-compatible metadata service: studies, analyses, files, publish, entities."""
