"""RTP and RTCP on the wire (RFC 3550 and friends), receiver statistics, pcap.

Used in: notebooks/05_rtp_rtcp.ipynb.
"""
