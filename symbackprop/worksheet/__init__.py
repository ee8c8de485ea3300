"""The worksheet format: YAML read with its lines, validated into frozen data; the readers of
``random:`` and ``require:``."""
