"""Rate controllers behind one interface: fixed, loss-based AIMD, GCC-style.

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""
