"""Media: signals, codecs, packetizers, jitter buffers, concealment, FEC and NACK.

Used in: notebooks 00, 06, 07.
"""
