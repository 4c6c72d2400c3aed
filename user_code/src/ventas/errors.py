"""Problems the user can fix: bad input files, bad data, bad settings.

Raising one of these means "this is not a bug: tell the user what is wrong and
how to fix it". The message is complete on its own (which file, line, column,
setting) and becomes the first line of the failed step in Dagster's UI.
"""


class UserError(ValueError):
    """A problem in the user's files, data or settings. The message says what and how to fix it."""
