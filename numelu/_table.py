"""The old name of :mod:`numelu._functions` (the table of public functions), kept so that
existing imports keep working; new code imports ``numelu._functions``."""

from numelu._functions import BY_NAME, FUNCTIONS, FunctionSpec

__all__ = ["BY_NAME", "FUNCTIONS", "FunctionSpec"]
