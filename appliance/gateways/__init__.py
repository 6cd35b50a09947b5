"""Gateways send and receive SMS (modems now, HTTP providers later); the router feeds them."""
