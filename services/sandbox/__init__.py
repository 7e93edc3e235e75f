"""Local emulators of the channel providers' APIs and a customer traffic generator, for demo, tests and benchmarks."""
