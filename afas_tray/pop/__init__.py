"""Caller pop: the call event, the router and its decisions, the opener, hand-off from other
processes, the loopback HTTP trigger, dialling and missed calls."""
