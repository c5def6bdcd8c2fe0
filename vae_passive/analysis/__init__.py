"""One model's analysis document, and many models through the runner."""
