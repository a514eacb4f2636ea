"""digitnet's neural network, written from scratch with NumPy and the standard library.

Reading order for a learner: ``functions`` (activations and costs), ``layers`` (one dense layer,
its forward and backward steps), ``architecture`` (layer sizes, activations, cost), ``network``
(forward propagation, backpropagation, theta), ``optim`` (gradient descent), ``batches`` (digits
as floats, mini-batches), ``train`` (the training loop), then ``serialize``. docs/math.md walks
through the equations. ``conv``, ``pool`` and ``build`` add the convolutional layers; ``evaluate``
and ``novelty`` read what a trained network gets right and how digit-like a drawing looks to it.
``names`` spells the names a user can choose (presets, activations, costs, optimisers, schedules),
once, without NumPy: the registries are keyed by them and the command line parses with them.

Two subpackages hold what is about digits rather than the network: ``model.images`` (a drawing's
ink to the network's 784 inputs, a row of digits cut into digits, the distortions used in
training) and ``model.data`` (the MNIST files: reading and downloading them).
"""
