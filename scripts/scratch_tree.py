"""Small source trees for the source checkers' self-tests (check-includes.py,
check-pte-writers.py): written to a scratch folder, checked, and removed again.

Only the Python standard library is used.
"""

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def scratch_tree(files, prefix):
    """Yields the root of a new folder holding files ({relative path: text}); removes it
    when the block ends, however it ends."""
    root = tempfile.mkdtemp(prefix=prefix)
    try:
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "w", encoding="utf-8") as out:
                out.write(text)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
