# What changes rarely, in Terraform: the execution role, the topics, the error alarm and the autoscaling of an
# asynchronous endpoint. The endpoint itself (its configs and, by default, its models) belongs to the action:
# Terraform never reads or writes it, so no `terraform plan` shows a diff after a rollout.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100" # the provider version `make test-terraform` applies these files with
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  variant_resource_id = "endpoint/${var.endpoint_name}/variant/${var.variant_name}"
  tags                = { endpoint = var.endpoint_name }
}

# --- The role the models run under ---------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.endpoint_name}-sagemaker-execution"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "ReadArtifactsWriteResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.bucket}", "arn:${data.aws_partition.current.partition}:s3:::${var.bucket}/*"]
  }
  statement {
    sid       = "PullImages"
    actions   = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = ["*"]
  }
  statement {
    sid       = "ContainerLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "cloudwatch:PutMetricData"]
    resources = ["*"]
  }
  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.success.arn, aws_sns_topic.error.arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "inference"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- Where SageMaker says an async request finished -----------------------------------------------------------

resource "aws_sns_topic" "success" {
  name = "${var.endpoint_name}-success"
  tags = local.tags
}

resource "aws_sns_topic" "error" {
  name = "${var.endpoint_name}-error"
  tags = local.tags
}

# --- The alarm the action rolls back on ----------------------------------------------------------------------

# Invocation5XXErrors is published for asynchronous endpoints (Invocations and InvocationsPerInstance are not).
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.endpoint_name}-5xx"
  alarm_description   = "The model answers 5xx: the action rolls an update back while this is in ALARM"
  namespace           = "AWS/SageMaker"
  metric_name         = "Invocation5XXErrors"
  dimensions          = { EndpointName = var.endpoint_name, VariantName = var.variant_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  tags                = local.tags
}
