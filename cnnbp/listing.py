"""Show a cnnbp function's source on a chapter page.

A chapter shows the code it teaches from with a code cell::

    from cnnbp.listing import listing
    listing(naive.input_gradient)

The result is a Markdown code block, which the built book (myst-nb) and
JupyterLab both render with syntax highlighting, so the listing reads the
same in both places and is always the code that runs.
"""

import inspect
import textwrap

__all__ = ["listing", "Listing"]


class Listing:
    """The source of one function or class, displayed as a code block.

    Parameters
    ----------
    obj : function, method or class
        Anything :func:`inspect.getsource` accepts.
    """

    def __init__(self, obj):
        self.name = f"{obj.__module__}.{obj.__qualname__}"
        self.source = textwrap.dedent(inspect.getsource(obj)).rstrip()

    def __repr__(self):
        return self.source

    def _repr_markdown_(self):
        return f"```python\n{self.source}\n```\n"


def listing(obj):
    """The source of ``obj`` as a displayable code block.

    Parameters
    ----------
    obj : function, method or class

    Returns
    -------
    Listing
        Jupyter shows it as highlighted Python (``text/markdown``).

    Examples
    --------
    >>> from cnnbp import naive
    >>> listing(naive.rot180).source.splitlines()[0]
    'def rot180(w):'
    """
    return Listing(obj)
