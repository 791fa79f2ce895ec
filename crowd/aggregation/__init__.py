"""Pure aggregation cores (NumPy only, no Django): usable from a notebook or the command line."""
