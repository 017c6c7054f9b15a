# Autoscaling of the endpoint's variant: backlog per instance, and scale-out from zero. Application Auto Scaling
# needs the variant to exist, so the first apply (before the action has created the endpoint) runs with
# `-var autoscaling=false`. The action keeps all of this through an instance-type change: it records the target,
# both policies and the alarm, deregisters, updates, then puts them back and points the alarm at the policy's
# new ARN, which the next `terraform plan` reads back without a diff.

resource "aws_appautoscaling_target" "variant" {
  count              = var.autoscaling ? 1 : 0
  service_namespace  = "sagemaker"
  resource_id        = local.variant_resource_id
  scalable_dimension = "sagemaker:variant:DesiredInstanceCount"
  min_capacity       = 0
  max_capacity       = var.max_instances
}

# Keeps about `backlog_per_instance` requests waiting per instance; scales in to zero when the queue is empty.
resource "aws_appautoscaling_policy" "backlog" {
  count              = var.autoscaling ? 1 : 0
  name               = "${var.endpoint_name}-backlog-per-instance"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.variant[0].service_namespace
  resource_id        = aws_appautoscaling_target.variant[0].resource_id
  scalable_dimension = aws_appautoscaling_target.variant[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.backlog_per_instance
    scale_in_cooldown  = 600
    scale_out_cooldown = 300
    customized_metric_specification {
      metric_name = "ApproximateBacklogSizePerInstance"
      namespace   = "AWS/SageMaker"
      statistic   = "Average"
      dimensions {
        name  = "EndpointName"
        value = var.endpoint_name
      }
    }
  }
}

# At zero instances there is no backlog *per instance* to track: this step policy adds the first one.
resource "aws_appautoscaling_policy" "scale_from_zero" {
  count              = var.autoscaling ? 1 : 0
  name               = "${var.endpoint_name}-scale-from-zero"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.variant[0].service_namespace
  resource_id        = aws_appautoscaling_target.variant[0].resource_id
  scalable_dimension = aws_appautoscaling_target.variant[0].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    metric_aggregation_type = "Average"
    cooldown                = 300
    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }
}

# The alarm that triggers the step policy: requests wait and no instance runs.
resource "aws_cloudwatch_metric_alarm" "has_backlog_without_capacity" {
  count               = var.autoscaling ? 1 : 0
  alarm_name          = "${var.endpoint_name}-HasBacklogWithoutCapacity"
  alarm_description   = "Requests wait and no instance runs: scale out from zero"
  namespace           = "AWS/SageMaker"
  metric_name         = "HasBacklogWithoutCapacity"
  dimensions          = { EndpointName = var.endpoint_name }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = [aws_appautoscaling_policy.scale_from_zero[0].arn]
  tags                = local.tags
}
