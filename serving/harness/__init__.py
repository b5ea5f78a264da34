"""The verification harness's in-sandbox programs (plain stdlib scripts, copied into workspaces)."""
