"""Helpers shared by the tests: random worksheet generators, independent oracles, repository paths and a CLI runner."""
