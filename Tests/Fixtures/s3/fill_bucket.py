#!/usr/bin/env python3
"""Test helper: creates buckets on an S3-compatible endpoint and uploads a folder's files under a prefix.
Usage: fill_bucket.py ENDPOINT BUCKET PREFIX FOLDER [OTHER_BUCKET]  (credentials from the environment)."""
import os
import sys

import boto3

endpoint, bucket, prefix, folder = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
s3.create_bucket(Bucket=bucket)
for other in sys.argv[5:]:
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="secret/photo.jpg", Body=b"not for this service")
for root, _, files in os.walk(folder):
    for name in files:
        path = os.path.join(root, name)
        s3.upload_file(path, bucket, prefix + os.path.relpath(path, folder))
print(sum(1 for _ in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)))
