"""What scripts/bench asks the stand-in (moto) about, through boto3 (in .venv with moto):

  moto.py bucket NAME                 create a versioned S3 bucket (idempotent)
  moto.py secret NAME JSON            create or overwrite a Secrets Manager secret
  moto.py params STACK                the stack's parameters as Key=Value lines
  moto.py snapshot FILE               record S3 object versions and every stack's update state
  moto.py diff FILE STACK             "UPLOADS UPDATES" since the snapshot: new S3 object versions
                                      (any bucket) and stack updates of STACK

An update is a stack-level *_COMPLETE event of STACK (moto keeps those, though no per-resource
events and no LastUpdatedTime; creating the stack counts as one); an upload is a new object version in any bucket (the deployer's artifact bucket and the bench's
SAM bucket are versioned, so every PutObject shows, even of the same bytes).
Endpoint and credentials come from AWS_ENDPOINT_URL and AWS_* in the environment."""
import json
import sys

import boto3


def s3():
    return boto3.client("s3")


def cfn():
    return boto3.client("cloudformation")


def objects():
    """Every object version as (bucket, key, version id or LastModified)."""
    client, seen = s3(), set()
    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
            for v in page.get("Versions", []):
                version = v.get("VersionId") or "null"
                if version == "null":
                    version = v["LastModified"].isoformat()
                seen.add(f"{name}/{v['Key']}#{version}")
    return seen


def stacks():
    """Every stack's count of completed stack operations (create, update, rollback)."""
    client, done = cfn(), {}
    for page in client.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            name = stack["StackName"]
            events = client.get_paginator("describe_stack_events").paginate(StackName=name)
            done[name] = sum(
                e["ResourceType"] == "AWS::CloudFormation::Stack"
                and e["ResourceStatus"].endswith("_COMPLETE")
                for p in events
                for e in p["StackEvents"]
            )
    return done


def main(command, *args):
    if command == "bucket":
        try:
            s3().create_bucket(Bucket=args[0])
        except s3().exceptions.BucketAlreadyOwnedByYou:
            pass
        s3().put_bucket_versioning(Bucket=args[0], VersioningConfiguration={"Status": "Enabled"})
    elif command == "secret":
        client = boto3.client("secretsmanager")
        try:
            client.create_secret(Name=args[0], SecretString=args[1])
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=args[0], SecretString=args[1])
    elif command == "params":
        stack = cfn().describe_stacks(StackName=args[0])["Stacks"][0]
        for p in stack.get("Parameters", []):
            print(f"{p['ParameterKey']}={p['ParameterValue']}")
    elif command == "snapshot":
        with open(args[0], "w") as f:
            json.dump({"objects": sorted(objects()), "stacks": stacks()}, f)
    elif command == "diff":
        with open(args[0]) as f:
            before = json.load(f)
        uploads = len(objects() - set(before["objects"]))
        updates = stacks().get(args[1], 0) - before["stacks"].get(args[1], 0)
        print(uploads, updates)
    else:
        sys.exit(f"unknown command {command}; see the docstring of {__file__}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
