"""score-broker: a lightweight, Score-compatible broker that issues pre-signed URLs."""

__version__ = "0.1.0"
