"""shipbench: build the same two apps through every way of shipping Python, measure, and report."""

__version__ = "0.1.0"
