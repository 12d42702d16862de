"""rtlib: the teaching library of the course "Real-time communication vs instant messaging".

Every piece of real logic the notebooks use lives here, one subpackage per concept
(see README.md for the map).  Start with ``rtlib.doctor()`` to check the set-up.

Every parser raises :class:`ParseError` (a ``ValueError``, defined once in
:mod:`rtlib.errors`) for malformed input, so ``except rtlib.ParseError`` catches them
all.  Importing ``rtlib`` imports nothing else: subpackages load when used.
"""

from rtlib.errors import ParseError

__version__ = "0.1.0"


def doctor(verbose: bool = True):
    """Check that the course can run here; see :mod:`rtlib.doctor`."""
    from rtlib.doctor import doctor as _doctor

    return _doctor(verbose=verbose)


__all__ = ["ParseError", "doctor", "__version__"]
