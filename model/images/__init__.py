"""Digit images, NumPy only: from a drawing's ink to the network's inputs, and back to more digits.

``preprocess`` makes a drawing an MNIST-style 28x28 digit (crop, stroke width, scale, centre of
mass); ``segment`` reads a row of digits with the help of ``components`` (connected ink),
``stroke_groups`` (the client's strokes), ``pieces`` and ``splits`` (joining and cutting ink), within
a ``budget``; ``augment`` distorts training digits at random.
"""
