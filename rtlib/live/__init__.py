"""Real-time drivers: asyncio UDP on loopback, the aiortc call, getStats.

Used in: notebooks/12_live_call.ipynb and the live cells of 02 and 05.
"""
