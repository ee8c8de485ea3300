"""Checking a handwritten derivation: reading its math, what each line claims, the verdicts and
diagnoses, and the reports."""
