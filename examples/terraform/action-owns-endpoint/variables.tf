variable "region" {
  description = "AWS region of the endpoint"
  type        = string
  default     = "us-east-1"
}

variable "endpoint_name" {
  description = "The endpoint the action creates and updates (its endpoint-name input)"
  type        = string
  default     = "whisper"
}

variable "variant_name" {
  description = "The endpoint's variant (the action's variant-name input)"
  type        = string
  default     = "AllTraffic"
}

variable "bucket" {
  description = "S3 bucket holding model artifacts and async results"
  type        = string
  default     = "acme-inference"
}

variable "autoscaling" {
  description = "false on the first apply, before the action has created the endpoint: the variant must exist first"
  type        = bool
  default     = true
}

variable "max_instances" {
  description = "Upper bound of the variant's autoscaling"
  type        = number
  default     = 4
}

variable "backlog_per_instance" {
  description = "Target of the backlog-per-instance policy"
  type        = number
  default     = 5
}

variable "model_image" {
  description = "Empty: the action makes the models (recommended). An image pinned by digest: Terraform makes the model and the workflow passes model-name"
  type        = string
  default     = ""
}

variable "model_data_url" {
  description = "S3 model artifact of the Terraform-made model (with model_image)"
  type        = string
  default     = ""
}
