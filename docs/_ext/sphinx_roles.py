"""A griffe extension for the API reference: the Sphinx roles our docstrings use (``:func:`x```,
``:class:`x```, ``:mod:`.x```, ...) shown as inline code, since mkdocstrings renders Markdown."""

import re

import griffe

ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):`~?([^`]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring's Sphinx roles as inline code when griffe loads an object."""

    def on_object(self, *, obj, **kwargs) -> None:
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value)
