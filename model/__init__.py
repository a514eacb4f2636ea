"""digitnet's neural network, written from scratch with NumPy and the standard library.

Reading order for a learner: ``functions`` (activations and costs), ``layers`` (one dense layer,
its forward and backward steps), ``architecture`` (layer sizes, activations, cost), ``network``
(forward propagation, backpropagation, theta), ``optim`` (gradient descent), ``batches`` (digits
as floats, mini-batches), ``train`` (the training loop), then ``augment``, ``mnist`` and
``serialize``. docs/math.md walks through the equations.
"""
