"""Planning transfers: typed requests, the transfers they become, and what they need from Song.

Below the batch command line and the terminal UI, which both build requests and hand them here.
"""
