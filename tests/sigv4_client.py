#!/usr/bin/python3
"""A real SigV4 client for tests/control_auth_test.cc: botocore signs, urllib sends.

usage: sigv4_client.py ENDPOINT ACCESS_KEY SECRET_KEY METHOD PATH [BODY] [--replay|--tamper]
                      [--skew=SECONDS]
Prints "STATUS BODY" per request sent. --replay sends the same signed request twice;
--tamper sends the signed headers with a different body; --skew signs as if the clock were
SECONDS ahead (negative: behind).
"""
import datetime
import sys
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def send(url, method, headers, body):
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as resp:
            print(resp.status, resp.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode())


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    endpoint, ak, sk, method, path = args[:5]
    for flag in flags:
        if flag.startswith("--skew="):
            skew = datetime.timedelta(seconds=int(flag[len("--skew="):]))
            real = datetime.datetime

            class Shifted(real):
                @classmethod
                def utcnow(cls):
                    return real.utcnow() + skew

            # botocore reads the time through the datetime module.
            datetime.datetime = Shifted
    body = args[5].encode() if len(args) > 5 else None
    request = AWSRequest(method=method, url=endpoint + path, data=body)
    SigV4Auth(Credentials(ak, sk), "parasol", "local").add_auth(request)
    headers = dict(request.headers.items())
    send(endpoint + path, method, headers, body)
    if "--replay" in flags:
        send(endpoint + path, method, headers, body)
    if "--tamper" in flags:
        send(endpoint + path, method, headers, (body or b"") + b" ")


main()
