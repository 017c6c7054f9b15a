output "endpoint_name" {
  description = "endpoint-name"
  value       = aws_sagemaker_endpoint.this.name
}
