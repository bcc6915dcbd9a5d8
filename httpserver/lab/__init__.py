"""What the notebooks need and the server does not.

Packet capture and pcap files, the wire tap, ladder and timeline plots, the load
generator, exercise checks and the student-copy generator. Nothing in the server
imports this package; matplotlib is imported lazily, inside the plotting
functions, so the rest works without it.
"""
