"""The expression language: the safe parser, the operations, evaluation to exact SymPy values,
and exact equality."""
