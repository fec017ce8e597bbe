"""The Dash explorer and workbench for policykg."""
