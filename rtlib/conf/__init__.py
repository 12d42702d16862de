"""Multi-party calls: mesh, SFU, MCU, edges and cascades.

Used in: notebooks/10_many_participants.ipynb, notebooks/11_edge_latency.ipynb.
"""
