"""Template tests: cfn-lint, the env/permission contract, and the local resource builder."""
