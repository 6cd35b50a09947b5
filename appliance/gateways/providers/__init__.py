"""HTTP SMS providers as gateways: api.py says what a provider's API is to the appliance,
engine.py sends through one, and each provider has a module of its own."""
