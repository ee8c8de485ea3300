"""The scalar engine: the graph of a worksheet, the forward pass and reverse sweep, and the
gradient-descent steps after it."""
