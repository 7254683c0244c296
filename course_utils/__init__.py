"""Helpers shared by the course notebooks: data, models, losses, training, measuring, plots, widgets.

Notebooks keep the idea they teach in plain sight and import the plumbing from the submodules,
always in the form ``from course_utils.<module> import name``.
"""

__version__ = "0.2.0"
