"""The floor the no-change path is measured against: import boto3 and make the one DescribeEndpoint call.

Nothing a no-change decision can do without. Usage: ``python bench/floor.py <endpoint-name>`` with the same
AWS_* environment the action gets.
"""

import os
import sys

import boto3

client = boto3.client("sagemaker", region_name=os.environ["AWS_REGION"])
client.describe_endpoint(EndpointName=sys.argv[1])
