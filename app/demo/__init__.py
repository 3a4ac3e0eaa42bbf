"""The demo: a loopback farm of simulated commune centres, its inventory and runner."""
