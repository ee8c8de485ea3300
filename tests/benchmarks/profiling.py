"""What the benchmark scripts share: a cProfile's top entries printed as a Markdown code block."""
from __future__ import annotations

import cProfile
import io
import pstats


def print_profile(prof: cProfile.Profile, title: str, pattern: str, top: int) -> None:
    """Print ``## title`` and the ``top`` cumulative entries whose file matches ``pattern``."""
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(pattern, top)
    text = buf.getvalue()
    start = text.find("   ncalls")
    print(f"\n## {title}\n\n```")
    print(text[start:].rstrip() if start >= 0 else text.rstrip())
    print("```")
