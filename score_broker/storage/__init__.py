"""Object stores behind one interface: `s3` (boto3) and `local` (files the broker serves)."""
