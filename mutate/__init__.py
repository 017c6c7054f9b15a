"""`make mutate`: mutation testing of the safety-critical code, scope by scope (see scope.toml)."""
