"""The pure core: job/task/node models, states, sweep expansion and `*` substitution, lease policy.

No I/O and no SDK imports here: everything is plain functions and pydantic models, so services,
functions, the node agent and the SDK share one vocabulary.
"""
