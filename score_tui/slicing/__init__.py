"""Slicing BAM and CRAM objects by region, fetching only the bytes their index points to."""
