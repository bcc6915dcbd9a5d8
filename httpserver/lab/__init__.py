"""What the notebooks need and the server does not.

Packet capture and pcap files, the wire tap, the load generator, the plots
(ladders, timelines, load and benchmark charts, small diagrams, all in the one
palette of `style`), exercise checks, the student-copy generator and the book;
for classrooms, the learner's workspace, nbgrader metadata and grading a class.
Nothing in the server imports this package; matplotlib is imported lazily,
inside the plotting functions, so the rest works without it.
"""
