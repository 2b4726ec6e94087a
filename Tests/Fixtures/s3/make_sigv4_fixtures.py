#!/usr/bin/env python3
"""Reference AWS Signature Version 4 values computed by botocore (the AWS SDK for Python), for the
S3 requests our S3 client signs: a presigned GET of an object and a header-signed ListObjectsV2.
Run: python3 make_sigv4_fixtures.py  (needs botocore; writes sigv4.json next to this file)."""
import datetime
import json
import os
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

FIXED = datetime.datetime(2026, 11, 29, 6, 30, 15)


class FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED

    @classmethod
    def now(cls, tz=None):
        return FIXED.replace(tzinfo=tz) if tz else FIXED


def signed(auth_class, method, url, credentials, region, **kwargs):
    request = botocore.awsrequest.AWSRequest(method=method, url=url)
    with mock.patch.object(botocore.auth.datetime, "datetime", FixedDatetime):
        auth_class(credentials, "s3", region, **kwargs).add_auth(request)
    return request


cases = []
for name, access, secret, token, region, endpoint, bucket, key in [
    ("simple", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, "us-east-1",
     "http://127.0.0.1:5123", "traps", "site3/cam1/IMG_0001.JPG"),
    ("escaping", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FQoGZXIvYXdzEXAMPLETOKEN/+=", "eu-west-2",
     "https://s3.eu-west-2.amazonaws.com", "lab-photos", "Kamera Süd/2024 06 (1)/photo+1 ~a*b.jpg"),
]:
    credentials = botocore.credentials.Credentials(access, secret, token)
    quoted_key = botocore.auth.quote(key, safe="/~")
    presign = signed(botocore.auth.S3SigV4QueryAuth, "GET", f"{endpoint}/{bucket}/{quoted_key}", credentials, region, expires=900)
    list_url = f"{endpoint}/{bucket}?list-type=2&prefix={botocore.auth.quote('site3/cam 1/', safe='~')}&continuation-token={botocore.auth.quote('1/ab+c==', safe='~')}"
    listing = signed(botocore.auth.S3SigV4Auth, "GET", list_url, credentials, region)
    cases.append({
        "name": name, "access_key": access, "secret_key": secret, "session_token": token, "region": region,
        "endpoint": endpoint, "bucket": bucket, "key": key, "time": FIXED.strftime("%Y%m%dT%H%M%SZ"),
        "presigned_url": presign.url, "expires": 900,
        "list": {"prefix": "site3/cam 1/", "continuation_token": "1/ab+c==",
                 "authorization": listing.headers["Authorization"],
                 "x-amz-content-sha256": listing.headers["X-Amz-Content-SHA256"]},
    })

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sigv4.json"), "w") as handle:
    json.dump({"generator": "botocore " + botocore.__version__, "cases": cases}, handle, indent=1)
    handle.write("\n")
