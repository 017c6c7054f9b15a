variable "region" {
  description = "AWS region of the endpoint"
  type        = string
  default     = "us-east-1"
}

variable "endpoint_name" {
  description = "The endpoint Terraform creates and the action updates (its endpoint-name input)"
  type        = string
  default     = "whisper"
}

variable "variant_name" {
  description = "The endpoint's variant (the action's variant-name input)"
  type        = string
  default     = "AllTraffic"
}

variable "instance_type" {
  description = "Instance type of the first config; the action's instance-type input governs every rollout after it"
  type        = string
  default     = "ml.g5.xlarge"
}

variable "bucket" {
  description = "S3 bucket for async results"
  type        = string
  default     = "acme-inference"
}

variable "first_image" {
  description = "Image of the first model, pinned by digest; later images are the action's image input"
  type        = string
}
