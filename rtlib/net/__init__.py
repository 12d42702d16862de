"""Links and paths: delay, jitter, loss, bottleneck queues and capacity traces.

Used in: notebooks/04_network.ipynb and every chapter that simulates a path.
"""
