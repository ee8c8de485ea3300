"""From a derivation to text: the Sheet model, its scalar and matrix layouts, the printers, the
figure, the templates, JSON and PDF."""
