"""The Python/boto3 counterpart of Rampart's securitygroup function, for the
cold-start comparison in coldstart_test.go (never deployed).

It does the same remediation as sg-open-world does for an
AuthorizeSecurityGroupIngress event: describe the group the event names,
revoke every ingress permission open to the world (0.0.0.0/0 or ::/0) that
covers port 22, and log one JSON line per decision. It implements the Lambda
Runtime API loop itself (awslambdaric is not installed here), as a custom
runtime's bootstrap does. boto3 honours AWS_ENDPOINT_URL (moto).
"""
import json
import os
import sys
import urllib.request

import boto3

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
EC2 = boto3.client("ec2")  # built once per cold start, as the Go function does
WORLD = {"0.0.0.0/0", "::/0"}
PORT = 22


def covers(p):
    if p.get("IpProtocol") == "-1":
        return True
    return p.get("IpProtocol") == "tcp" and p.get("FromPort", 0) <= PORT <= p.get("ToPort", 65535)


def handle(event):
    detail = event["detail"]
    group = detail["requestParameters"]["groupId"]
    sg = EC2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    revoke = []
    for p in sg.get("IpPermissions", []):
        if not covers(p):
            continue
        v4 = [r for r in p.get("IpRanges", []) if r.get("CidrIp") in WORLD]
        v6 = [r for r in p.get("Ipv6Ranges", []) if r.get("CidrIpv6") in WORLD]
        if v4 or v6:
            keep = {k: p[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in p}
            revoke.append(dict(keep, IpRanges=v4, Ipv6Ranges=v6))
    if revoke:
        EC2.revoke_security_group_ingress(GroupId=group, IpPermissions=revoke)
    decision = {"rule": "sg-open-world", "resource": group, "verdict": "violation" if revoke else "compliant",
                "actions": len(revoke), "eventID": detail.get("eventID")}
    print(json.dumps(decision), flush=True)
    return {"decisions": [decision]}


def main():
    while True:
        try:
            with urllib.request.urlopen(API + "next") as r:
                rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
                event = json.loads(r.read())
        except OSError:
            sys.exit(0)  # the emulator is gone
        try:
            url, body = API + rid + "/response", json.dumps(handle(event))
        except Exception as e:  # reported as a function error, as Lambda does
            url, body = API + rid + "/error", json.dumps({"errorMessage": str(e), "errorType": type(e).__name__})
        urllib.request.urlopen(urllib.request.Request(url, data=body.encode(), method="POST")).read()


main()
