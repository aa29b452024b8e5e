"""Developer tooling: the demo, generated classes, the benchmark, browser driving."""
