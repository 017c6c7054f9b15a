# Terraform declares the endpoint; the action rolls new images onto it. Three settings of the endpoint change
# under Terraform's feet with every rollout, and each is left to the action here, so that `terraform plan` stays
# clean and `terraform apply` never calls UpdateEndpoint behind the action's back:
# - endpoint_config_name: each rollout serves a new config the action made;
# - deployment_config: the provider reads the endpoint's LastDeploymentConfig (the action's strategy, bake and
#   alarms) into it, and an apply would update the endpoint to put the declared one back: a second fleet for
#   nothing, with the action's guardrails gone;
# - the tags the action writes on the endpoint (prefix `sagemaker-async-deploy:`): its record of the variant's
#   autoscaling during an instance-type change, which an apply would delete (see `ignore_tags` below).
# The config and model declared here are only the first ones: after the first rollout they serve nothing, and
# the workflow runs the action with `delete-previous: false` so that it does not delete what Terraform manages.

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

  # The action's own tags on the endpoint are not Terraform's to remove.
  ignore_tags {
    key_prefixes = ["sagemaker-async-deploy:"]
  }
}

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
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "ReadArtifactsWriteResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = ["arn:aws:s3:::${var.bucket}", "arn:aws:s3:::${var.bucket}/*"]
  }
  statement {
    sid       = "PullImagesAndLog"
    actions   = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "cloudwatch:PutMetricData"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "inference"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# The first model and config: what the endpoint serves until the action's first rollout. The action makes the
# next model from this one's role, artifact and environment, with only the image replaced.
resource "aws_sagemaker_model" "first" {
  name               = "${var.endpoint_name}-first"
  execution_role_arn = aws_iam_role.execution.arn

  primary_container {
    image = var.first_image
  }

  depends_on = [aws_iam_role_policy.execution]
}

resource "aws_sagemaker_endpoint_configuration" "first" {
  name = "${var.endpoint_name}-first"

  production_variants {
    variant_name           = var.variant_name
    model_name             = aws_sagemaker_model.first.name
    instance_type          = var.instance_type
    initial_instance_count = 1
  }

  async_inference_config {
    output_config {
      s3_output_path = "s3://${var.bucket}/${var.endpoint_name}/out/"
    }
  }
}

# The alarm an update rolls back on (the action's alarms input). Invocation5XXErrors is published for
# asynchronous endpoints; Invocations and InvocationsPerInstance are not.
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
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = var.endpoint_name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.first.name
  tags                 = { team = "speech" }

  lifecycle {
    # Both are the action's after its first rollout; see the top of this file.
    ignore_changes = [endpoint_config_name, deployment_config]
  }
}
