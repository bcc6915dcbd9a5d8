"""What the chapters use in their cells, and the server does not.

Packet capture and pcap files, the wire tap, the load generator, the plots
(ladders, timelines, load and benchmark charts, small diagrams, all in the one
palette of `style`), exercise checks, loading and checking the learner's
`my_server.py`, and the book. What instructors run (student copies, grading,
the sandbox, exports) is `httpserver.classroom`; no chapter imports it.
Nothing in the server imports this package; matplotlib is imported lazily,
inside the plotting functions, so the rest works without it.
"""
