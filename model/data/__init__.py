"""The MNIST data set: ``mnist`` reads its four IDX files, ``download`` fetches them safely."""
