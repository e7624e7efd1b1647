"""userrep: generalized user representations built inside the warehouse."""

__version__ = "0.1.0"
