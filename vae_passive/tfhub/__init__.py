"""TF1 Hub modules: the TensorFlow runtime, the network, loading, checking and exporting modules."""
