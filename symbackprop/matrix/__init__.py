"""Matrix notation: formulas, operations with shapes, the matrix derivation, and the
entry-by-entry expansion into scalars."""
