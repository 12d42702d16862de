"""Echo cancellation and noise suppression.

Used in: notebooks/09_echo_noise.ipynb.
"""
