"""Simulated AFAS Profit and Xelion servers for --demo mode and the tests."""
