"""AFAS Profit REST client."""
