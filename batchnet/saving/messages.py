"""File content quoted in error messages: on one line, and no longer than a reader needs.

A hostile model file can hold a layer type named by a megabyte of text, a
``.npy`` header of 10,000 characters or thousands of member names; an error
that repeats them whole buries what it says. Whatever a message quotes from a
file goes through :func:`quoted` (a value) or :func:`clipped` (the text of an
error raised by a parser, which may quote the file itself).
"""

QUOTE_LIMIT = 200
ELLIPSIS = "..."


def clipped(text, limit=QUOTE_LIMIT):
    """``text`` on one line (each line break a space), cut to ``limit`` characters with ``...`` when longer."""
    text = " ".join(str(text).splitlines())
    if len(text) <= limit:
        return text
    return text[:limit - len(ELLIPSIS)] + ELLIPSIS


def quoted(value, limit=QUOTE_LIMIT):
    """``repr(value)``, clipped: how a message shows a value read from a file."""
    try:
        text = repr(value)
    except RecursionError:  # JSON nested about as deeply as the parser goes
        return "(a value nested too deeply to show)"
    return clipped(text, limit)
