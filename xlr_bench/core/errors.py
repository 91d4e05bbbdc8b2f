"""The one exception type users see.

Every failure caused by input (a missing file, a bad definition, an unknown name) is raised as
:class:`XLRBenchError` with a message that says what is wrong, where we looked and how to fix it.
The CLI prints that message and exits non-zero instead of showing a traceback from deep inside a
library.
"""


class XLRBenchError(Exception):
    """A problem with the user's input or environment, explained in plain words."""
