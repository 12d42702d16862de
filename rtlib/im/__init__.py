"""Instant messaging: sans-IO components, simulation scenarios and the live server.

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""
