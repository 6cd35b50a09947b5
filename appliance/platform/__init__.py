"""Hardware behind small interfaces, each with a fake, so no test needs a Raspberry Pi."""
