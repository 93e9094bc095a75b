"""A service whose import fails."""

raise ImportError("the solver library is missing")
