"""The building registry's files: text decoding (``textfiles``), energy units (``units``),
parsing and checking the buildings, meters and quotas files (``parse``), and storing them
all-or-nothing (``store``)."""
