"""Helpers shared by the course notebooks: data, models, losses, training, metrics, plots, widgets.

Notebooks keep the idea they teach in plain sight and call these modules for the plumbing.
"""

from .config import FAST, banner, device, epochs, pick, seed_everything

__all__ = ["FAST", "banner", "device", "epochs", "pick", "seed_everything"]
__version__ = "0.1.0"
