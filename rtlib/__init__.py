"""rtlib: the teaching library of the course "Real-time communication vs instant messaging".

Every piece of real logic the notebooks use lives here, one subpackage per concept
(see README.md for the map).  Start with ``rtlib.doctor()`` to check the set-up.
"""

__version__ = "0.1.0"


def doctor(verbose: bool = True):
    """Check that the course can run here; see :mod:`rtlib.doctor`."""
    from rtlib.doctor import doctor as _doctor

    return _doctor(verbose=verbose)


__all__ = ["doctor", "__version__"]
