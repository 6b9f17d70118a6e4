"""The demo city: its buildings and meters (``city``), load shapes (``load_shapes``), the
generator of registry and readings files (``generator``) and the meter gateway that keeps it
alive under ``make run`` (``gateway``)."""
