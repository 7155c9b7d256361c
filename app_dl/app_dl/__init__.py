"""The deep-learning sample app: a small PyTorch trainer on a deterministic synthetic task."""

__version__ = "0.1.0"
