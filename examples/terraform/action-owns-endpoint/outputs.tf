# What the workflow passes to the action.

output "execution_role_arn" {
  description = "execution-role-arn: the role of the models the action makes"
  value       = aws_iam_role.execution.arn
}

output "success_topic_arn" {
  description = "success-topic"
  value       = aws_sns_topic.success.arn
}

output "error_topic_arn" {
  description = "error-topic"
  value       = aws_sns_topic.error.arn
}

output "alarm_name" {
  description = "alarms: the alarm an update rolls back on"
  value       = aws_cloudwatch_metric_alarm.errors.alarm_name
}

output "model_name" {
  description = "model-name: the Terraform-made model, or empty when the action makes the models"
  value       = var.model_image == "" ? "" : aws_sagemaker_model.this[0].name
}
