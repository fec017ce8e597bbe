"""The dashboard's pages: each module keeps its layout and its callbacks."""
