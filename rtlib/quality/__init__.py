"""Quality: the E-model (ITU-T G.107), MOS, stall rate, latency budgets.

Used in: notebooks/01_im_vs_rtc.ipynb and later chapters.
"""
